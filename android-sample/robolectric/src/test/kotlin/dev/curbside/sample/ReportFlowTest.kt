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
 * The sample app's screens, driven as a citizen would, with the real core against the sandbox
 * city, and WorkManager running the library's worker.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestApp::class)
class ReportFlowTest {
    private val app get() = RuntimeEnvironment.getApplication() as TestApp

    @After
    fun close() = runBlocking { Curbside.shutdown() }

    /** Runs the main looper until [found] gives something (the SDK works on its own threads). */
    private fun <T : Any> waitFor(what: String, seconds: Int = 20, found: () -> T?): T {
        val until = System.nanoTime() + seconds * 1_000_000_000L
        while (System.nanoTime() < until) {
            shadowOf(Looper.getMainLooper()).idle()
            found()?.let { return it }
            Thread.sleep(20)
        }
        val history = Curbside.reports.value.map { r -> runCatching { runBlocking { Curbside.core().outbox().report(r.id).history.map { it.event } } }.getOrNull() }
        error("waited $seconds s for $what; history $history; the outbox: ${Curbside.reports.value.map { "${it.state} attempts=${it.attempts} error=${it.lastError} next=${it.nextAttemptAt}" }}")
    }

    /** The next Activity started for [screen] (the app-wide queue of started Activities). */
    private fun started(screen: Class<out Activity>): Intent = waitFor("${screen.simpleName} to start") {
        generateSequence { shadowOf(app).nextStartedActivity }.firstOrNull { it.component?.className == screen.name }
    }

    private fun <V : View> Activity.view(tag: String): V? = window.decorView.findViewWithTag(tag)

    private fun text(activity: Activity, tag: String) = activity.view<TextView>(tag)?.text?.toString().orEmpty()

    /** The phone loses its network, as the platform reports it: disconnected, no internet. */
    private fun offline() = network(connected = false)

    /**
     * The phone gets on Wi-Fi with internet (Robolectric's default network has no internet
     * capability), as the platform reports it to every network callback.
     */
    private fun online() = network(connected = true)

    /** WorkManager started the library's worker, under its network constraint. */
    private fun workManagerRan() = waitFor("WorkManager to run the worker") {
        online() // told again for WorkManager's callback, registered when the work was enqueued
        WorkManager.getInstance(app).getWorkInfosForUniqueWork(SyncWorker.NAME).get()
            .firstOrNull { it.runAttemptCount > 0 || it.state == WorkInfo.State.SUCCEEDED }
    }

    // Robolectric does not tell a callback the current network when it registers, as Android
    // does: the tests say it again after the app enqueues work (WorkManager registers then).
    private fun network(connected: Boolean) {
        val connectivity = app.getSystemService(ConnectivityManager::class.java)!!
        val network = connectivity.activeNetwork!!
        val capabilities = ShadowNetworkCapabilities.newInstance().also {
            shadowOf(it).addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
            // What a NetworkRequest asks by default (WorkManager's "connected" is one).
            listOf(
                NetworkCapabilities.NET_CAPABILITY_NOT_RESTRICTED, NetworkCapabilities.NET_CAPABILITY_TRUSTED,
                NetworkCapabilities.NET_CAPABILITY_NOT_VPN, NetworkCapabilities.NET_CAPABILITY_NOT_VCN_MANAGED,
            ).forEach { capability -> shadowOf(it).addCapability(capability) }
            if (connected) {
                shadowOf(it).addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
                shadowOf(it).addCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED)
            }
        }
        val state = if (connected) NetworkInfo.State.CONNECTED else NetworkInfo.State.DISCONNECTED
        val detailed = if (connected) NetworkInfo.DetailedState.CONNECTED else NetworkInfo.DetailedState.DISCONNECTED
        shadowOf(connectivity).setActiveNetworkInfo(
            ShadowNetworkInfo.newInstance(detailed, ConnectivityManager.TYPE_WIFI, 0, true, state),
        )
        shadowOf(connectivity).setNetworkCapabilities(network, capabilities)
        shadowOf(connectivity).networkCallbacks.forEach {
            if (connected) it.onAvailable(network) else it.onLost(network)
            it.onCapabilitiesChanged(network, capabilities)
        }
    }

    /** Opens Curbside again with the profile [profile] makes of the shipped one. */
    private fun reopen(freshInstall: Boolean = false, profile: (String) -> String) {
        // The app's own opening first finishes (it hops to the main thread, which this is).
        waitFor("the app's opening") { app.open().takeIf { it.isCompleted } }
        runBlocking { Curbside.shutdown() }
        if (freshInstall) File(app.filesDir, "curbside").deleteRecursively()
        TestApp.profile = profile
        app.open()
    }

    @Test
    fun `when Curbside cannot open, the first screen says so and opens on "Try again"`() {
        try {
            reopen { "{ a damaged profile" }
            val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
            waitFor("the failure said") { text(services, "status").takeIf { "cannot be opened" in it } }
            TestApp.profile = { it }
            services.view<Button>("retry")!!.performClick()
            waitFor("the services after trying again") { services.view<Button>("service:graffiti") }
        } finally {
            TestApp.profile = { it }
        }
    }

    /**
     * The second flavour, Springfield, from the same code: its profile (the flavour's
     * `city.json`, pointed at the sandbox) is all that changes, on a fresh install.
     */
    @Test
    fun `a second city's flavour runs from the same code with only its files`() {
        val springfield = File("../app/src/springfield/assets/city.json").readText()
            .replace("https://311.springfield.example/open311/v2/", System.getenv("CURBSIDE_SANDBOX_URL")!!)
        try {
            reopen(freshInstall = true) { springfield }
            val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
            waitFor("Springfield's services") { services.view<Button>("service:graffiti") }
            assertEquals("Springfield 311", services.title.toString())
            assertEquals("springfield", app.cityId)
            services.view<Button>("service:graffiti")!!.performClick()
            waitFor("a draft for Springfield") { runBlocking { Curbside.core().drafts().list() }.singleOrNull() }
            started(ReportActivity::class.java)
            assertEquals(listOf("springfield"), runBlocking { Curbside.core().cities().profiles() }.map { it.id })
        } finally {
            TestApp.profile = { it }
        }
    }

    /** Submits a graffiti report for the app's city, as the form would. */
    private fun submitGraffiti(description: String) = runBlocking {
        val draft = Curbside.drafts {
            it.create(listOf(
                dev.curbside.types.DraftEdit.City(app.cityId),
                dev.curbside.types.DraftEdit.Service("graffiti"),
                dev.curbside.types.DraftEdit.Description(description),
                dev.curbside.types.DraftEdit.Location(dev.curbside.types.Location(
                    38.8893, -77.0502, 5.0, dev.curbside.types.LocationSource.GPS, java.time.Instant.now())),
            ))
        }
        Curbside.submit(app, draft.id)
    }

    @Test
    fun `a waiting report is withdrawn from the outbox and never sent`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
        offline()
        val report = submitGraffiti("Withdrawn before it left")
        val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
        waitFor("the way out") { outbox.view<Button>("withdraw:${report.id}") }.performClick()
        val withdrawn = app.getString(R.string.state_withdrawn)
        waitFor("withdrawn on screen") { text(outbox, "report:${report.id}").takeIf { withdrawn in it } }
        online()
        runBlocking { Curbside.sync(java.time.Duration.ofSeconds(10)) }
        val after = runBlocking { Curbside.core().outbox().report(report.id) }
        assertEquals(ReportState.Cancelled, after.report.state, "never sent")
        assertEquals(0u, after.report.attempts)
        assertTrue(after.history.any { it.event == dev.curbside.types.HistoryEvent.Withdrawn })

        // Its detail tells the history in the citizen's words.
        outbox.view<TextView>("report:${report.id}")!!.performClick()
        val detail = Robolectric.buildActivity(DetailActivity::class.java, started(DetailActivity::class.java)).setup().get()
        val texts = dev.curbside.CurbsideTexts.of(app)
        val told = listOf(dev.curbside.types.HistoryEvent.Submitted, dev.curbside.types.HistoryEvent.Withdrawn).map(texts::history)
        waitFor("the history") { text(detail, "history").takeIf { history -> told.all { it in history } } }
        assertTrue("Withdrawn before it left" in text(detail, "summary"))
    }

    /**
     * A city whose answer is unusable and whose lists cannot be searched: the report waits for
     * the citizen, who says it did arrive with the city's number from its e-mail.
     */
    @Test
    fun `a report that may have arrived is confirmed with the city's number`() {
        val unsearchable = { profile: String ->
            val sandbox = System.getenv("CURBSIDE_SANDBOX_URL")!!
            profile.replace(sandbox, "${sandbox.substringBefore("/open311/")}/mode/empty_object,lists_refused/open311/v2/")
        }
        try {
            reopen(freshInstall = true, profile = unsearchable)
            val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
            waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
            val report = submitGraffiti("Maybe arrived")
            val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
            waitFor("the report waiting for the citizen") {
                runBlocking { Curbside.sync(java.time.Duration.ofSeconds(10)) }
                outbox.view<EditText>("request-id:${report.id}")
            }.setText("H-1234")
            outbox.view<Button>("confirm:${report.id}")!!.performClick()
            val sent = app.getString(R.string.state_sent_as, "H-1234")
            waitFor("sent as the city's number") { text(outbox, "report:${report.id}").takeIf { sent in it } }
        } finally {
            TestApp.profile = { it }
        }
    }

    /**
     * Springfield asks for an e-mail: "without my details" is not offered, a report without
     * one is refused by the core with the city's reason, and the citizen's details, once
     * remembered, fill the next report.
     */
    @Test
    fun `a city that needs an e-mail gets one, and remember-me fills the next report`() {
        val springfield = File("../app/src/springfield/assets/city.json").readText()
            .replace("https://311.springfield.example/open311/v2/", System.getenv("CURBSIDE_SANDBOX_URL")!!)
        try {
            reopen(freshInstall = true) { springfield }
            app.getSharedPreferences("contact", android.content.Context.MODE_PRIVATE).edit().clear().commit()
            val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
            waitFor("Springfield's services") { services.view<Button>("service:graffiti") }.performClick()
            val report = Robolectric.buildActivity(ReportActivity::class.java, started(ReportActivity::class.java)).setup().get()
            waitFor("the form") { report.view<EditText>("contact:email") }
            assertEquals(View.GONE, report.view<CheckBox>("anonymous")!!.visibility, "no anonymous choice where the city needs details")
            report.view<EditText>("description")!!.setText("Tag on the bridge")
            report.view<EditText>("latitude")!!.setText("38.8893")
            report.view<EditText>("longitude")!!.setText("-77.0502")
            report.view<Button>("pin")!!.performClick()
            report.view<Button>("submit")!!.performClick()
            val needed = dev.curbside.CurbsideTexts.of(app).issue(dev.curbside.types.FieldIssue.ContactRequired("Springfield 311"))
            waitFor("the city's reason") { text(report, "issues").takeIf { needed in it } }

            report.view<EditText>("contact:email")!!.setText("ada@example.org")
            report.view<CheckBox>("remember")!!.isChecked = true
            report.view<Button>("submit")!!.performClick()
            started(OutboxActivity::class.java)
            val sent = waitFor("the report submitted") { Curbside.reports.value.singleOrNull() }
            runBlocking { Curbside.sync(java.time.Duration.ofSeconds(10)) }
            waitFor("sent") { Curbside.reports.value.singleOrNull { it.id == sent.id && it.state == ReportState.Sent } }

            // The next report: the remembered e-mail is there.
            services.view<Button>("service:graffiti")!!.performClick()
            val next = Robolectric.buildActivity(ReportActivity::class.java, started(ReportActivity::class.java)).setup().get()
            waitFor("the remembered e-mail") { next.view<EditText>("contact:email")?.text?.toString()?.takeIf { it == "ada@example.org" } }
            assertTrue(next.view<CheckBox>("remember")!!.isChecked)
        } finally {
            TestApp.profile = { it }
        }
    }

    @Test
    fun `services come by the city's groups, a search narrows them, and a draft left is continued`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("the services") { services.view<Button>("service:graffiti") }
        assertTrue(services.view<TextView>("group:Streets") != null, "the city's groups")
        services.view<EditText>("search")!!.setText("lamp") // a keyword of the street light
        shadowOf(Looper.getMainLooper()).idle()
        assertTrue(services.view<Button>("service:streetlight") != null)
        assertEquals(null, services.view<Button>("service:pothole"), "narrowed by the search")
        services.view<EditText>("search")!!.setText("")
        shadowOf(Looper.getMainLooper()).idle()

        // A report begun and left: the first screen offers to continue it.
        services.view<Button>("service:graffiti")!!.performClick()
        val begun = started(ReportActivity::class.java)
        val draftId = begun.getStringExtra(ReportActivity.DRAFT)!!
        waitFor("the draft offered") { services.view<Button>("draft:$draftId") }.performClick()
        assertEquals(draftId, started(ReportActivity::class.java).getStringExtra(ReportActivity.DRAFT))
    }

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
}
