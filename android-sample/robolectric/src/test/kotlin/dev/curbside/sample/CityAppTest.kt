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
 * The app as a city ships it: it opens or says why not, a second city runs from the same
 * code, the city's contact rules, its services by group with a search, drafts continued.
 */
class CityAppTest : Screens() {
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
            // Once the form has read the city's rules: no anonymous choice where it needs details.
            waitFor("the anonymous choice withdrawn") { report.view<CheckBox>("anonymous")?.takeIf { it.visibility == View.GONE } }
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

    /** A phone set to Finnish: the app's own texts and the library's codes read in Finnish. */
    @Test
    @Config(qualifiers = "fi")
    fun `on a Finnish phone the screens speak Finnish`() {
        val services = Robolectric.buildActivity(ServicesActivity::class.java).setup().get()
        waitFor("the services") { services.view<Button>("service:graffiti") }
        assertEquals("Mistä haluat ilmoittaa?", text(services, "status"))
        assertEquals("Omat ilmoitukset", services.view<Button>("outbox")!!.text.toString())
        val texts = dev.curbside.CurbsideTexts.of(app)
        assertEquals("Tallennettu laitteelle, odottaa lähetystä", texts.history(dev.curbside.types.HistoryEvent.Submitted))
    }
}
