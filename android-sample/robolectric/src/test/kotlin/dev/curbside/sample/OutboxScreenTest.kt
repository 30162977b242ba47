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
 * The outbox screen's ways out: withdraw a waiting report, confirm one that may have arrived
 * with the city's number, and a report's detail with its history.
 */
class OutboxScreenTest : Screens() {
    @Test
    fun `a waiting report is withdrawn from the outbox and never sent`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
        offline()
        val report = submitGraffiti("Taken back before it left")
        val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
        waitFor("the way out") { outbox.view<Button>("withdraw:${report.id}") }.performClick()
        val withdrawn = app.getString(R.string.state_withdrawn)
        waitFor("withdrawn on screen") { text(outbox, "report:${report.id}").takeIf { it.lines().last() == withdrawn } }
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
        assertTrue("Taken back before it left" in text(detail, "summary"))
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

    /** The city closes a sent report: the citizen is told, in their words, when it is seen. */
    @Test
    fun `a status the city changes is told in a notification`() {
        shadowOf(app).grantPermissions(android.Manifest.permission.POST_NOTIFICATIONS)
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
        online()
        val report = submitGraffiti("Tag on the underpass wall")
        runBlocking { Curbside.sync(java.time.Duration.ofSeconds(10)) }
        val id = waitFor("sent, with the city's id") {
            Curbside.reports.value.singleOrNull { it.id == report.id && it.state == ReportState.Sent }?.requestId
        }
        // The city closes it (the sandbox's admin route), and a refresh sees it.
        val sandbox = java.net.URI(System.getenv("CURBSIDE_SANDBOX_URL")!!)
        val admin = sandbox.resolve("/_sandbox/requests/$id/status")
        val request = java.net.http.HttpRequest.newBuilder(admin)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("status=closed&note=Cleaned"))
            .build()
        java.net.http.HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofString())
        runBlocking { Curbside.core().outbox().syncNow() }

        val told = dev.curbside.CurbsideTexts.of(app).history(dev.curbside.types.HistoryEvent.StatusChanged("closed", "Cleaned"))
        val notifications = shadowOf(app.getSystemService(android.app.NotificationManager::class.java))
        val notification = waitFor("the notification") { notifications.allNotifications.singleOrNull() }
        assertEquals(told, notification.extras.getCharSequence(android.app.Notification.EXTRA_TEXT).toString())
        assertEquals("Tag on the underpass wall", notification.extras.getCharSequence(android.app.Notification.EXTRA_TITLE).toString())
    }

    /**
     * A city that refuses the app's key: the report waits, the citizen is told the app's
     * settings cannot reach the city (nothing they can fix but updating the app), and can
     * withdraw it.
     */
    @Test
    fun `a refused key is said as the app's settings, with the way out`() {
        val refusesKey = { profile: String ->
            val sandbox = System.getenv("CURBSIDE_SANDBOX_URL")!!
            profile.replace(sandbox, "${sandbox.substringBefore("/open311/")}/mode/key_400/open311/v2/")
        }
        try {
            TestApp.key = "revoked"
            reopen(freshInstall = true, profile = refusesKey)
            val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
            waitFor("Curbside to open") { services.view<Button>("service:graffiti") }
            val report = submitGraffiti("Refused by the key")
            val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
            val said = waitFor("the settings said") {
                runBlocking { Curbside.sync(java.time.Duration.ofSeconds(10)) }
                outbox.view<TextView>("settings:${report.id}")
            }
            assertEquals(app.getString(R.string.check_settings), said.text.toString())
            assertTrue(outbox.view<Button>("withdraw:${report.id}") != null, "a way out")
            assertEquals(null, outbox.view<Button>("act:${report.id}"), "nothing to send again")
        } finally {
            TestApp.profile = { it }
            TestApp.key = "sandbox-key"
        }
    }
}
