package dev.curbside

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The outbox through the generated Kotlin API and the `reportsFlow()` wrapper, against the sandbox. */
class OutboxTest {
    @TempDir
    lateinit var dir: Path

    private val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run, which starts the sandbox")

    private suspend fun open(): CurbsideCore = CurbsideCore(dir.toString()).also {
        it.setServer("city", ServerConfig(endpoint = endpoint, apiKey = "sandbox-key"))
        it.setRetryPolicy(0.05, 0.5, 0.05)
    }

    private fun pothole(description: String) = DraftFields(
        serviceCode = "pothole",
        location = Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now()),
        description = description,
        attributes = listOf(AttributeAnswer("WHERE", listOf("road")), AttributeAnswer("DEPTH", listOf("3"))),
    )

    /** Queues a fault in the sandbox through its admin route. */
    private fun sandboxFault(fault: String) {
        val admin = URI(endpoint).resolve("/_sandbox/faults")
        val request = HttpRequest.newBuilder(admin)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString("fault=$fault&scope=post&mode=next"))
            .build()
        val response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, response.statusCode())
    }

    @Test
    fun `a submitted report reaches the city and the flow shows every step`() = runBlocking<Unit> {
        open().use { core ->
            val draft = core.createDraft(pothole("Kotlin outbox report"))
            val report = core.submit(draft.id, "city")
            assertTrue(core.listDrafts().isEmpty(), "the draft became the report")
            val sent = withTimeout(20_000) {
                core.reportsFlow().first { list -> list.any { it.id == report.id && it.state == ReportState.Sent } }
            }.single { it.id == report.id }
            assertNotNull(sent.requestId)
            val detail = core.report(report.id)
            assertEquals(listOf("submitted", "sent"), detail.history.map { it.kind })
        }
    }

    @Test
    fun `a lost answer is checked, not sent twice`() = runBlocking<Unit> {
        open().use { core ->
            val description = "Kotlin lost answer ${System.nanoTime()}"
            sandboxFault("commit_then_drop")
            val report = core.submit(core.createDraft(pothole(description)).id, "city")
            withTimeout(20_000) {
                core.reportsFlow().first { list -> list.any { it.id == report.id && it.state == ReportState.Sent } }
            }
            val history = core.report(report.id).history.map { it.kind }
            assertTrue("unknown_outcome" in history, "$history")
            val onServer = Open311Client(ServerConfig(endpoint = endpoint))
                .requests(RequestQuery(serviceCodes = listOf("pothole"), pageSize = 500u))
                .requests.count { it.description == description }
            assertEquals(1, onServer)
        }
    }

    @Test
    fun `offline reports can be cancelled, and what cannot be sent is refused at submit`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false)
            val report = core.submit(core.createDraft(pothole("never mind")).id, "city")
            assertEquals(ReportState.Queued, core.reports().single { it.id == report.id }.state)
            assertEquals(ReportState.Cancelled, core.cancelReport(report.id).state)

            val incomplete = core.createDraft(DraftFields(description = "no service yet"))
            val error = assertFailsWith<ApiException.InvalidDraft> { core.submit(incomplete.id, "city") }
            assertEquals(listOf("service_code", "location"), error.errors.map { it.field })
            assertFailsWith<ApiException.NotFound> { core.submit(incomplete.id, "no-such-server") }
            assertEquals(1, core.listDrafts().size, "a refused draft stays a draft")
        }
    }

    @Test
    fun `background runs report what they did`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false)
            core.submit(core.createDraft(pothole("sent by run_pending")).id, "city")
            val summary = core.runPending(20.0)
            assertEquals(0u, summary.waiting)
            assertTrue(core.reports().all { it.state == ReportState.Sent })
            core.syncNow()
        }
    }
}
