package dev.curbside.sample

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.location.LocationManager
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.net.NetworkInfo
import android.net.Uri
import android.os.Looper
import android.view.View
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.RadioButton
import android.widget.TextView
import org.robolectric.RuntimeEnvironment
import androidx.work.WorkInfo
import androidx.work.WorkManager
import dev.curbside.android.Curbside
import dev.curbside.android.SyncWorker
import dev.curbside.android.of
import dev.curbside.types.ReportState
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetworkCapabilities
import org.robolectric.shadows.ShadowNetworkInfo

/**
 * The sample app's main flows, driven as a citizen would, with the real core against the
 * sandbox city, and WorkManager running the library's worker.
 */
class ReportFlowTest : Screens() {
    @Test
    fun `offline, a report waits for the network, and WorkManager sends it when the network returns`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
        val passes = java.util.concurrent.ConcurrentLinkedQueue<String>()
        dev.curbside.setLogSink(object : dev.curbside.LogSink {
            override fun log(level: dev.curbside.LogLevel, target: String, message: String) {
                if (message.startsWith("worker pass")) passes.add(message)
            }
        }, dev.curbside.LogLevel.DEBUG)
        offline()
        // Offline, nothing wakes the worker but the submit: the next pass is the submit's.
        passes.clear()
        val report = runBlocking {
            val draft = Curbside.drafts {
                it.create(listOf(
                    dev.curbside.types.DraftEdit.City(app.cityId),
                    dev.curbside.types.DraftEdit.Service("graffiti"),
                    dev.curbside.types.DraftEdit.Description("Tag on the underpass"),
                    dev.curbside.types.DraftEdit.Location(dev.curbside.types.Location(
                        38.8893, -77.0502, 5.0, dev.curbside.types.LocationSource.GPS, java.time.Instant.now())),
                ))
            }
            Curbside.submit(app, draft.id)
        }
        val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
        waitFor("the report waiting on screen") { text(outbox, "report:${report.id}").takeIf { "Waiting for a network" in it } }
        // The submit woke the core's worker: a pass that went by the hint "offline", and sent
        // nothing (waited for in the core's log, not with a sleep).
        waitFor("the worker's pass while offline") { passes.firstOrNull { it == "worker pass online=false" } }
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(ReportState.WaitingForNetwork, Curbside.reports.value.single().state, "nothing is tried offline")
        assertEquals(0u, Curbside.reports.value.single().attempts, "nothing is tried offline")

        online()
        waitFor("the report sent on screen") { text(outbox, "report:${report.id}").takeIf { "Sent to the city" in it } }
        workManagerRan()
    }

    @Test
    fun `a citizen reports a pothole with a photo, fixes what the city refused, and sees it sent`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        val fix = android.location.Location(LocationManager.GPS_PROVIDER).apply {
            latitude = 38.8893; longitude = -77.0502; accuracy = 6f; time = System.currentTimeMillis()
        }
        shadowOf(app.getSystemService(LocationManager::class.java)).setLastKnownLocation(LocationManager.GPS_PROVIDER, fix)

        // The services, from the city's catalog.
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        val pothole = waitFor("the services") { services.view<Button>("service:pothole") }
        online()
        assertEquals("A place for bike racks", services.view<Button>("service:bike_rack")?.text, "the city's own question")
        pothole.performClick()
        val toReport = started(ReportActivity::class.java)

        // The form from the service's definition, with its position and a photo.
        var controller = Robolectric.buildActivity(ReportActivity::class.java, toReport).setup()
        var report = controller.get()
        waitFor("the form") { report.view<RadioButton>("attr:WHERE:road") }.performClick()
        report.view<EditText>("attr:DEPTH")!!.setText("250")
        report.view<EditText>("description")!!.setText("Deep pothole by the bike rack")
        report.view<Button>("locate")!!.performClick()
        waitFor("the position") { text(report, "where").takeIf { "38.88930" in it } }

        // The screen turns: nothing typed is lost.
        controller = controller.recreate()
        report = controller.get()
        waitFor("the form again") { report.view<EditText>("description")?.text?.toString()?.takeIf { it.isNotEmpty() } }
        assertEquals("Deep pothole by the bike rack", report.view<EditText>("description")!!.text.toString())
        assertEquals("250", report.view<EditText>("attr:DEPTH")!!.text.toString())
        assertTrue(report.view<RadioButton>("attr:WHERE:road")!!.isChecked)

        report.view<Button>("photo")!!.performClick()
        val picker = shadowOf(report).nextStartedActivityForResult
        val photo = File(System.getenv("CURBSIDE_SAMPLE_PHOTO") ?: error("CURBSIDE_SAMPLE_PHOTO is not set"))
        shadowOf(report).receiveResult(picker.intent, Activity.RESULT_OK, Intent().setData(Uri.fromFile(photo)))
        waitFor("the photo") { text(report, "photos").takeIf { it == app.getString(R.string.photo_count, 1) } }

        report.view<Button>("submit")!!.performClick()
        val toOutbox = started(OutboxActivity::class.java)
        online() // as Android tells a callback registered since (WorkManager's) about the network

        // Sent in the background; the city refuses a depth over a metre.
        val outbox = Robolectric.buildActivity(OutboxActivity::class.java, toOutbox).setup().get()
        val sent = waitFor("the report in the outbox") { Curbside.reports.value.singleOrNull() }
        waitFor("the city's refusal") { outbox.view<Button>("act:${sent.id}") }
        assertTrue("over" in text(outbox, "report:${sent.id}") || "city" in text(outbox, "report:${sent.id}"))
        assertTrue("at most 100" in text(outbox, "report:${sent.id}"), text(outbox, "report:${sent.id}"))

        // Fix and send again: the report is a draft again, in the same form.
        outbox.view<Button>("act:${sent.id}")!!.performClick()
        val toFix = started(ReportActivity::class.java)
        val fixing = Robolectric.buildActivity(ReportActivity::class.java, toFix).setup().get()
        val depth = waitFor("the answers") { fixing.view<EditText>("attr:DEPTH")?.takeIf { it.text.isNotEmpty() } }
        assertEquals("250", depth.text.toString())
        depth.setText("25")
        fixing.view<Button>("submit")!!.performClick()
        val again = started(OutboxActivity::class.java)
        online()
        val outboxAgain = Robolectric.buildActivity(OutboxActivity::class.java, again).setup().get()

        val delivered = waitFor("the report sent", seconds = 30) {
            Curbside.reports.value.singleOrNull { it.state == ReportState.Sent }
        }
        waitFor("the sent state on screen") { text(outboxAgain, "report:${delivered.id}").takeIf { "Sent to the city" in it } }
        assertEquals(1, delivered.attempts.toInt(), "sent once, after the fix")
        workManagerRan()
        assertTrue(Curbside.drafts.value.isEmpty(), "no draft left")
    }

    @Test
    fun `a photo taken with the camera app joins the report with a thumbnail, and is removed`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("the services") { services.view<Button>("service:graffiti") }.performClick()
        val report = Robolectric.buildActivity(ReportActivity::class.java, started(ReportActivity::class.java)).setup().get()
        waitFor("the form") { report.view<EditText>("description") }
        report.view<Button>("camera")!!.performClick()

        // The camera app is asked to write into the app's own files, through its FileProvider.
        val asked = shadowOf(report).nextStartedActivityForResult
        assertEquals(android.provider.MediaStore.ACTION_IMAGE_CAPTURE, asked.intent.action)
        @Suppress("DEPRECATION")
        val output = asked.intent.getParcelableExtra<Uri>(android.provider.MediaStore.EXTRA_OUTPUT)!!
        assertEquals("${app.packageName}.photos", output.authority)
        val written = File(app.cacheDir, "captures/${output.lastPathSegment}")
        File(System.getenv("CURBSIDE_SAMPLE_PHOTO") ?: error("CURBSIDE_SAMPLE_PHOTO is not set")).copyTo(written)
        shadowOf(report).receiveResult(asked.intent, Activity.RESULT_OK, Intent())

        waitFor("the photo") { text(report, "photos").takeIf { it == app.getString(R.string.photo_count, 1) } }
        val thumbnail = report.view<android.widget.ImageView>("thumb:0")!!
        assertEquals(app.getString(R.string.photo_described, 1), thumbnail.contentDescription)
        assertTrue(!written.exists(), "the camera's file is gone once the pipeline made its copy")

        report.view<Button>("remove-photo:0")!!.performClick()
        waitFor("the photo removed") { text(report, "photos").takeIf { it == app.getString(R.string.photo_count, 0) } }
        assertEquals(null, report.view<android.widget.ImageView>("thumb:0"))
    }

    /**
     * A position as a field-data app takes one: an old last known fix is not used, a rough
     * fix is shown while a better one is waited for, and the first fix as accurate as the city
     * asks (Bikeville: 50 m) is taken.
     */
    @Test
    fun `a fresh fix is waited for until it is as accurate as the city asks`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        val locator = app.getSystemService(LocationManager::class.java)
        fun fix(accuracy: Float, ageMs: Long, latitude: Double = 38.8893) = android.location.Location(LocationManager.GPS_PROVIDER).apply {
            this.latitude = latitude; longitude = -77.0502; this.accuracy = accuracy; time = System.currentTimeMillis() - ageMs
        }
        // Where the phone was an hour ago: not where the problem is.
        shadowOf(locator).setLastKnownLocation(LocationManager.GPS_PROVIDER, fix(5f, 3_600_000, latitude = 38.95))
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("the services") { services.view<Button>("service:graffiti") }.performClick()
        val report = Robolectric.buildActivity(ReportActivity::class.java, started(ReportActivity::class.java)).setup().get()
        waitFor("the form read") { text(report, "where").takeIf { it == app.getString(R.string.where_is_it) } }
        report.view<Button>("locate")!!.performClick()
        waitFor("looking") { text(report, "where").takeIf { it == app.getString(R.string.finding_position) } }

        shadowOf(locator).simulateLocation(fix(200f, 0))
        waitFor("the rough fix shown") { text(report, "where").takeIf { it == app.getString(R.string.finding_position_accuracy, 200.0) } }
        assertEquals("", report.view<EditText>("latitude")!!.text.toString(), "a rough fix is not taken")

        shadowOf(locator).simulateLocation(fix(6f, 0))
        waitFor("the accurate fix taken") { text(report, "where").takeIf { "38.88930" in it } }
        assertEquals("38.8893", report.view<EditText>("latitude")!!.text.toString())
    }

    /** A picked file that is no photo: said in the user's words, the draft unchanged. */
    @Test
    fun `a picked file that is no photo is refused in the user's words`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("the services") { services.view<Button>("service:graffiti") }.performClick()
        val report = Robolectric.buildActivity(ReportActivity::class.java, started(ReportActivity::class.java)).setup().get()
        waitFor("the form read") { text(report, "where").takeIf { it == app.getString(R.string.where_is_it) } }
        report.view<Button>("photo")!!.performClick()
        val picker = shadowOf(report).nextStartedActivityForResult
        val notAPhoto = File(app.cacheDir, "notes.txt").apply { writeText("not a photo at all") }
        shadowOf(report).receiveResult(picker.intent, Activity.RESULT_OK, Intent().setData(Uri.fromFile(notAPhoto)))
        waitFor("the refusal") { text(report, "issues").takeIf { it == app.getString(R.string.photo_unusable) } }
        assertEquals(app.getString(R.string.photo_count, 0), text(report, "photos"))
    }
}
