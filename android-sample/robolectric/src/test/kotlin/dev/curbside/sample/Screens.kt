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
 * What the screens' tests share: the app under test (the sample pointed at the sandbox city),
 * waiting on the main looper, started Activities, views by tag, the network as the platform
 * reports it, and a report submitted as the form would.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestApp::class)
abstract class Screens {
    protected val app get() = RuntimeEnvironment.getApplication() as TestApp

    @After
    fun close() = runBlocking { Curbside.shutdown() }

    /** Runs the main looper until [found] gives something (the SDK works on its own threads). */
    protected fun <T : Any> waitFor(what: String, seconds: Int = 20, found: () -> T?): T {
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
    protected fun started(screen: Class<out Activity>): Intent = waitFor("${screen.simpleName} to start") {
        generateSequence { shadowOf(app).nextStartedActivity }.firstOrNull { it.component?.className == screen.name }
    }

    protected fun <V : View> Activity.view(tag: String): V? = window.decorView.findViewWithTag(tag)

    protected fun text(activity: Activity, tag: String) = activity.view<TextView>(tag)?.text?.toString().orEmpty()

    /** The phone loses its network, as the platform reports it: disconnected, no internet. */
    protected fun offline() = network(connected = false)

    /**
     * The phone gets on Wi-Fi with internet (Robolectric's default network has no internet
     * capability), as the platform reports it to every network callback.
     */
    protected fun online() = network(connected = true)

    /** WorkManager started the library's worker, under its network constraint. */
    protected fun workManagerRan() = waitFor("WorkManager to run the worker") {
        online() // told again for WorkManager's callback, registered when the work was enqueued
        WorkManager.getInstance(app).getWorkInfosForUniqueWork(SyncWorker.NAME).get()
            .firstOrNull { it.runAttemptCount > 0 || it.state == WorkInfo.State.SUCCEEDED }
    }

    // Robolectric does not tell a callback the current network when it registers, as Android
    // does: the tests say it again after the app enqueues work (WorkManager registers then).
    protected fun network(connected: Boolean) {
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
    protected fun reopen(freshInstall: Boolean = false, profile: (String) -> String) {
        // The app's own opening first finishes (it hops to the main thread, which this is).
        waitFor("the app's opening") { app.open().takeIf { it.isCompleted } }
        runBlocking { Curbside.shutdown() }
        if (freshInstall) File(app.filesDir, "curbside").deleteRecursively()
        TestApp.profile = profile
        app.open()
    }

    /** Submits a graffiti report for the app's city, as the form would. */
    protected fun submitGraffiti(description: String) = runBlocking {
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
}
