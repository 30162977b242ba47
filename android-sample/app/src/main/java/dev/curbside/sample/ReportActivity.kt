package dev.curbside.sample

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.provider.MediaStore
import android.text.InputType
import android.view.View
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import dev.curbside.ApiException
import dev.curbside.CurbsideTexts
import dev.curbside.NearbyQuery
import dev.curbside.android.Curbside
import dev.curbside.android.of
import dev.curbside.open311.Attribute
import dev.curbside.open311.AttributeAnswer
import dev.curbside.open311.Datatype
import dev.curbside.open311.ServiceDefinition
import dev.curbside.types.Draft
import dev.curbside.types.DraftEdit
import dev.curbside.types.DraftId
import dev.curbside.types.Location
import dev.curbside.types.LocationSource
import java.io.File
import java.time.Instant
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * One report: the form built from the service's definition (all six datatypes), where it is
 * (the device's fix, and a pin to adjust), a photo (the system picker), what was already
 * reported nearby, and submit. Everything typed is saved in the draft (so a rotation or a
 * killed process loses nothing) and read back from it.
 */
class ReportActivity : Activity() {
    private val scope = MainScope()
    private val draftId by lazy { DraftId(restored ?: intent.getStringExtra(DRAFT)!!) }
    private var restored: String? = null
    private var definition: ServiceDefinition? = null
    private var location: Location? = null
    private val texts by lazy { CurbsideTexts.of(this) }

    private val form by lazy { LinearLayout(this).apply { orientation = LinearLayout.VERTICAL } }
    private val description by lazy { EditText(this).apply { tag = "description"; hint = getString(R.string.what_is_wrong) } }
    private val latitude by lazy { EditText(this).apply { tag = "latitude"; hint = getString(R.string.latitude); inputType = DECIMAL } }
    private val longitude by lazy { EditText(this).apply { tag = "longitude"; hint = getString(R.string.longitude); inputType = DECIMAL } }
    private val where by lazy { label("where") }
    private val photos by lazy { PhotoSection(this) { removePhoto(it) } }
    /** The position being found, while it is. */
    private var fix: LocationFix? = null
    /** The file the camera app writes the photo being taken to (kept across a rotation). */
    private var capture: File? = null
    private val nearby by lazy { label("nearby") }
    private val issues by lazy { label("issues") }
    private val contact by lazy { ContactSection(this) }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        restored = savedInstanceState?.getString(DRAFT)
        val locate = Button(this).apply { text = getString(R.string.use_my_location); tag = "locate"; setOnClickListener { locate() } }
        val pin = Button(this).apply { text = getString(R.string.put_pin); tag = "pin"; setOnClickListener { pin() } }
        val camera = Button(this).apply { text = getString(R.string.take_photo); tag = "camera"; setOnClickListener { capturePhoto() } }
        val picker = Button(this).apply { text = getString(R.string.add_photo); tag = "photo"; setOnClickListener { takePhoto() } }
        capture = savedInstanceState?.getString(CAPTURE)?.let(::File)
        val submit = Button(this).apply { text = getString(R.string.send); tag = "submit"; setOnClickListener { submit() } }
        setContentView(column(form, description, where, locate, latitude, longitude, pin, nearby, camera, picker, photos.view, contact.view, issues, submit))
        val service = intent.getStringExtra(SERVICE).takeIf { savedInstanceState == null }
        scope.launch {
            try {
                load(service)
            } catch (e: ApiException) {
                issues.text = getString(R.string.cannot_open_report)
            }
        }
    }

    /** Reads the draft (and the service's questions) and shows them. */
    private suspend fun load(service: String?) {
        val draft = saving.withLock {
            val current = Curbside.core().drafts().get(draftId)
            if (service != null && (current.fields.serviceCode != service || current.fields.definition == null)) {
                Curbside.core().cities().serviceForm(draftId, (application as SampleApp).cityId, service).draft
            } else {
                current
            }
        }
        definition = draft.fields.definition
        title = definition?.serviceCode ?: getString(R.string.report_title)
        form.removeAllViews()
        definition?.attributes?.filter { it.variable }?.sortedBy { it.order ?: 0u }?.forEach { form.addView(question(it, draft)) }
        description.setText(draft.fields.description)
        location = draft.fields.location
        location?.let { latitude.setText(it.latitude.toString()); longitude.setText(it.longitude.toString()) }
        val cityId = (application as SampleApp).cityId
        contact.show(draft.fields.contact, Curbside.core().cities().profiles().firstOrNull { it.id == cityId })
        show(draft)
    }

    /** One question's view, by datatype, filled with the draft's answer. */
    private fun question(attribute: Attribute, draft: Draft): View {
        val answer = draft.fields.attributes.firstOrNull { it.code == attribute.code }?.values.orEmpty()
        val box = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        box.addView(label("question:${attribute.code}", attribute.description + if (attribute.required) " *" else ""))
        when (attribute.datatype) {
            Datatype.SINGLE_VALUE_LIST -> box.addView(RadioGroup(this).apply {
                attribute.values.forEach { value ->
                    addView(RadioButton(context).apply {
                        id = View.generateViewId()
                        text = value.name
                        tag = "attr:${attribute.code}:${value.key}"
                        isChecked = value.key in answer
                    })
                }
            })
            Datatype.MULTI_VALUE_LIST -> attribute.values.forEach { value ->
                box.addView(CheckBox(this).apply {
                    text = value.name
                    tag = "attr:${attribute.code}:${value.key}"
                    isChecked = value.key in answer
                })
            }
            else -> box.addView(EditText(this).apply {
                tag = "attr:${attribute.code}"
                setText(answer.firstOrNull().orEmpty())
                inputType = when (attribute.datatype) {
                    Datatype.NUMBER -> DECIMAL
                    Datatype.DATETIME -> InputType.TYPE_CLASS_DATETIME
                    Datatype.TEXT -> InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_MULTI_LINE
                    else -> InputType.TYPE_CLASS_TEXT
                }
            })
        }
        return box
    }

    /** The answers as the form shows them now. */
    private fun answers(): List<AttributeAnswer> = definition?.attributes.orEmpty().filter { it.variable }.mapNotNull { attribute ->
        val values = when (attribute.datatype) {
            Datatype.SINGLE_VALUE_LIST, Datatype.MULTI_VALUE_LIST -> attribute.values
                .filter { (form.findViewWithTag<android.widget.CompoundButton>("attr:${attribute.code}:${it.key}"))?.isChecked == true }
                .map { it.key }
            else -> listOfNotNull(form.findViewWithTag<EditText>("attr:${attribute.code}")?.text?.toString()?.takeIf { it.isNotBlank() })
        }
        values.takeIf { it.isNotEmpty() }?.let { AttributeAnswer(attribute.code, it, attribute.datatype == Datatype.MULTI_VALUE_LIST) }
    }

    /** The form's edits, saved in the draft. */
    private fun edits() = listOf(
        DraftEdit.Description(description.text.toString()), DraftEdit.Answers(answers()), DraftEdit.Contact(contact.contact()),
    ) + listOfNotNull(location?.let { DraftEdit.Location(it) })

    /** Saves what is on screen; it finishes even if the screen goes. */
    private fun save() {
        val edits = edits()
        val id = draftId
        processScope.launch { saving.withLock { runCatching { Curbside.drafts { it.edit(id, edits) } } } }
    }

    private fun locate() {
        // Both asked for: from Android 12 the citizen may grant only an approximate position,
        // which the city's accuracy limit then judges.
        val granted = listOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
            .any { checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED }
        if (!granted) {
            requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION), LOCATE)
            return
        }
        val cityId = (application as SampleApp).cityId
        scope.launch {
            val wanted = runCatching { Curbside.core().cities().profiles().firstOrNull { it.id == cityId }?.maxAccuracyM }
                .getOrNull() ?: DEFAULT_ACCURACY_M
            where.text = getString(R.string.finding_position)
            fix?.stop()
            fix = LocationFix(this@ReportActivity, wanted,
                progress = { where.text = getString(R.string.finding_position_accuracy, it.accuracy.toDouble()) },
                done = { found ->
                    if (found == null) {
                        where.text = getString(R.string.no_position)
                    } else {
                        location = Location(found.latitude, found.longitude, found.accuracy.toDouble().takeIf { found.hasAccuracy() },
                            LocationSource.GPS, Instant.ofEpochMilli(found.time))
                        latitude.setText(found.latitude.toString())
                        longitude.setText(found.longitude.toString())
                        refresh()
                    }
                }).also { it.start() }
        }
    }

    private fun pin() {
        val lat = latitude.text.toString().toDoubleOrNull()
        val lon = longitude.text.toString().toDoubleOrNull()
        if (lat == null || lon == null) {
            where.text = getString(R.string.give_pin)
            return
        }
        location = Location(lat, lon, null, LocationSource.MANUAL_PIN, Instant.now())
        refresh()
    }

    /** Saves, then shows where the report is, what is near, and what is still missing. */
    private fun refresh() = scope.launch {
        val draft = saving.withLock { Curbside.drafts { it.edit(draftId, edits()) } }
        show(draft)
    }

    private suspend fun show(draft: Draft) {
        val here = draft.fields.location
        where.text = here?.let { at ->
            at.accuracyM?.let { getString(R.string.at_position_accuracy, at.latitude, at.longitude, it) }
                ?: getString(R.string.at_position, at.latitude, at.longitude)
        } ?: getString(R.string.where_is_it)
        photos.show(draft)
        issues.text = Curbside.core().drafts().validate(draftId).joinToString("\n") { texts.issue(it.issue) }
        if (here != null) {
            nearby.text = try {
                val found = Curbside.core().cities().nearby(
                    NearbyQuery((application as SampleApp).cityId, here.latitude, here.longitude, 50.0, draft.fields.serviceCode, true),
                )
                found.requests.joinToString("\n", prefix = if (found.requests.isEmpty()) "" else getString(R.string.nearby_header) + "\n") {
                    getString(R.string.nearby_item, it.distanceM, it.request.description ?: it.request.serviceName ?: "")
                }
            } catch (e: ApiException) {
                ""
            }
        }
    }

    /**
     * Asks the camera app for a photo, written through a FileProvider into the app's own cache
     * (the camera app needs no storage permission, and the photo is the app's alone).
     */
    private fun capturePhoto() {
        val file = File(File(cacheDir, "captures").apply { mkdirs() }, "capture-${System.nanoTime()}.jpg")
        capture = file
        val uri = androidx.core.content.FileProvider.getUriForFile(this, "$packageName.photos", file)
        val intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
            .putExtra(MediaStore.EXTRA_OUTPUT, uri)
            .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION)
        startActivityForResult(intent, CAPTURE_PHOTO)
    }

    private fun removePhoto(path: String) = scope.launch {
        runCatching { Curbside.core().photos().remove(draftId, path) }.onSuccess { show(it) }
    }

    /** Opens the system photo picker. */
    private fun takePhoto() {
        val intent = if (android.os.Build.VERSION.SDK_INT >= 33) {
            Intent(MediaStore.ACTION_PICK_IMAGES)
        } else {
            Intent(Intent.ACTION_GET_CONTENT).setType("image/*").addCategory(Intent.CATEGORY_OPENABLE)
        }
        startActivityForResult(intent, PHOTO)
    }

    @Deprecated("Activity results, as the platform gives them without AndroidX")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        @Suppress("DEPRECATION")
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode == CAPTURE_PHOTO) {
            val file = capture ?: return
            capture = null
            if (resultCode == RESULT_OK && file.length() > 0) scope.launch { addPhoto(file) } else file.delete()
            return
        }
        val uri = data?.data
        if (requestCode != PHOTO || resultCode != RESULT_OK || uri == null) return
        scope.launch {
            // The picked image is copied into the app's cache first.
            val copy = File(cacheDir, "picked-${System.nanoTime()}")
            val copied = runCatching {
                kotlinx.coroutines.withContext(kotlinx.coroutines.Dispatchers.IO) {
                    contentResolver.openInputStream(uri)!!.use { input -> copy.outputStream().use { input.copyTo(it) } }
                }
            }
            if (copied.isSuccess) addPhoto(copy) else issues.text = getString(R.string.photo_unusable)
        }
    }

    /**
     * Adds a photo through the pipeline, which makes the copy that is sent (upright,
     * downsized, without metadata); [file] goes afterwards. Its position is offered when the
     * report has none yet.
     */
    private suspend fun addPhoto(file: File) {
        val added = try {
            Curbside.core().photos().add(draftId, file.path)
        } catch (e: ApiException) {
            issues.text = getString(R.string.photo_unusable)
            return
        } finally {
            file.delete() // the pipeline has made its copy, or refused it
        }
        if (location == null) added.locationCandidate?.let {
            location = it
            latitude.setText(it.latitude.toString())
            longitude.setText(it.longitude.toString())
        }
        show(added.draft)
    }

    @Deprecated("Permission results, as the platform gives them without AndroidX")
    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (requestCode == LOCATE && grantResults.any { it == PackageManager.PERMISSION_GRANTED }) locate()
    }

    private fun submit() = scope.launch {
        try {
            saving.withLock { Curbside.drafts { it.edit(draftId, edits()) } }
            Curbside.submit(this@ReportActivity, draftId)
            contact.rememberOrForget()
            startActivity(Intent(this@ReportActivity, OutboxActivity::class.java))
            finish()
        } catch (e: ApiException.NotReady) {
            issues.text = e.issues.joinToString("\n") { texts.issue(it.issue) }
        } catch (e: ApiException) {
            issues.text = getString(R.string.not_sent)
        }
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putString(DRAFT, draftId.value)
        capture?.let { outState.putString(CAPTURE, it.path) }
    }

    override fun onPause() {
        save()
        super.onPause()
    }

    override fun onDestroy() {
        fix?.stop()
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        /** Extra: the draft's id. */
        const val DRAFT = "draft"
        /** Extra: the service chosen (first start only). */
        const val SERVICE = "service"
        private const val PHOTO = 1
        private const val CAPTURE_PHOTO = 3
        /** The accuracy waited for where the city sets none. */
        private const val DEFAULT_ACCURACY_M = 50.0
        private const val CAPTURE = "capture"
        private const val LOCATE = 2
        private const val DECIMAL = InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_DECIMAL or InputType.TYPE_NUMBER_FLAG_SIGNED

        /** Saves and reads of drafts, one at a time (a save from a closing screen comes first). */
        private val saving = Mutex()
    }
}
