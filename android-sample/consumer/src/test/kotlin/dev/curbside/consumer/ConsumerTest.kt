package dev.curbside.consumer

import android.os.Looper
import dev.curbside.CurbsideConfig
import dev.curbside.android.Curbside
import dev.curbside.types.DraftEdit
import dev.curbside.types.Location
import dev.curbside.types.LocationSource
import dev.curbside.types.ReportState
import java.time.Duration
import java.time.Instant
import kotlin.test.assertEquals
import kotlinx.coroutines.runBlocking
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * An app that knows Curbside only as the published AAR: it opens the core through the
 * library, submits a report to the sandbox city and sees it sent.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class ConsumerTest {
    /** Runs the main looper until [done] (the library hops to it to watch the network). */
    private fun until(what: String, done: () -> Boolean) {
        val deadline = System.nanoTime() + 30_000_000_000L
        while (!done()) {
            check(System.nanoTime() < deadline) { "waited 30 s for $what" }
            shadowOf(Looper.getMainLooper()).idle()
            Thread.sleep(20)
        }
    }

    @Test
    fun `an app built on the AAR opens Curbside, submits a report and the city receives it`() {
        val app = RuntimeEnvironment.getApplication()
        val endpoint = System.getenv("CURBSIDE_SANDBOX_URL")
            ?: error("CURBSIDE_SANDBOX_URL is not set: run this through tests/run")
        val profile = """{"id": "consumer", "name": "Consumer City", "server": {"endpoint": "$endpoint"}}"""
        val scheduled = mutableListOf<String>()
        val opening = Curbside.initialize(app, { dataDir ->
            CurbsideConfig(dataDir = dataDir, appName = "ConsumerApp/1", profiles = listOf(profile),
                apiKeys = mapOf("consumer" to "sandbox-key"))
        }, background = { scheduled.add("sync") })
        until("Curbside to open") { opening.isCompleted }
        try {
            val report = runBlocking {
                Curbside.core().cities().services("consumer", true)
                val draft = Curbside.drafts {
                    it.create(listOf(
                        DraftEdit.City("consumer"), DraftEdit.Service("graffiti"),
                        DraftEdit.Description("From an app built on the AAR"),
                        DraftEdit.Location(Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now())),
                    ))
                }
                Curbside.submit(app, draft.id)
            }
            assertEquals(listOf("sync"), scheduled.take(1), "the app's background sync was asked for")
            runBlocking { Curbside.sync(Duration.ofSeconds(20)) }
            until("the report sent") { Curbside.reports.value.singleOrNull { it.id == report.id }?.state == ReportState.Sent }
        } finally {
            runBlocking { Curbside.shutdown() }
        }
    }
}
