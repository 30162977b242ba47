package dev.curbside

import dev.curbside.open311.*
import dev.curbside.photo.*
import dev.curbside.types.*
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
    fun `finished reports are kept as long as the app says`() = runBlocking<Unit> {
        open().use { core ->
            core.setRetention(90u, 1u, 50u)
            val first = core.submit(core.createDraft(pothole("Kotlin kept 1")).id, "city")
            val second = core.submit(core.createDraft(pothole("Kotlin kept 2")).id, "city")
            withTimeout(20_000) {
                core.reportsFlow().first { list ->
                    list.filter { it.id == first.id || it.id == second.id }.count { it.state == ReportState.Sent } == 2
                }
            }
            core.syncNow() // a sending run ends with a prune
            val kept = core.reports().filter { it.id == first.id || it.id == second.id }
            assertEquals(1, kept.size, "only the newest finished report")
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
            // Asked of the city's server directly, as anyone reading its open data would.
            val listing = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI(endpoint).resolve("requests.json?service_code=pothole&page_size=500")).build(),
                HttpResponse.BodyHandlers.ofString(),
            ).body()
            assertEquals(1, Regex(Regex.escape("\"description\":\"$description\"")).findAll(listing).count(), listing)
        }
    }

    @Test
    fun `offline reports can be cancelled, and what cannot be sent is refused at submit`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false)
            val report = core.submit(core.createDraft(pothole("never mind")).id, "city")
            assertEquals(ReportState.WaitingForNetwork, core.reports().single { it.id == report.id }.state)
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
            val sync = core.syncNow()
            assertEquals(0u, sync.waiting)
            assertEquals(null, sync.statusError, "the status refresh worked")
            assertTrue(!sync.skippedBusy)
        }
    }

    /** Runs the outbox (worker off) until every report waits for the user, or fails the test. */
    private suspend fun untilAllNeedAttention(core: CurbsideCore): List<Report> {
        repeat(60) {
            core.runPending(10.0)
            val reports = core.reports()
            if (reports.all { it.state is ReportState.NeedsAttention }) return reports
            Thread.sleep(100)
        }
        error("still not waiting for the user: ${core.reports().map { it.state }}")
    }

    @Test
    fun `what a stubborn city answers becomes a code the app can show`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false) // driven by runPending only
            val root = endpoint.substringBefore("/open311/")
            // A city that answers a bad key with 400, and one that answers a report it will
            // never accept with a framework's 500 debug page.
            core.setServer("strict", ServerConfig(endpoint = "$root/mode/key_400/open311/v2/", apiKey = "revoked"))
            core.setServer("fragile", ServerConfig(endpoint = "$root/mode/refuse_500/open311/v2/", apiKey = "sandbox-key"))
            val badKey = core.submit(core.createDraft(pothole("Kotlin bad key")).id, "strict")
            val bottomless = pothole("Kotlin bottomless").copy(
                attributes = listOf(AttributeAnswer("WHERE", listOf("road")), AttributeAnswer("DEPTH", listOf("bottomless"))),
            )
            val neverAccepted = core.submit(core.createDraft(bottomless).id, "fragile")
            val reports = untilAllNeedAttention(core)

            val key = (reports.single { it.id == badKey.id }.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.SETTINGS_REFUSED, key.kind)
            assertEquals(AttentionAction.CHECK_SETTINGS, key.action)
            assertEquals(listOf("Invalid API key"), key.messages.map { it.description })

            val failing = (reports.single { it.id == neverAccepted.id }.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.SERVER_KEEPS_FAILING, failing.kind)
            assertEquals(AttentionAction.EDIT_AND_RESUBMIT, failing.action)
            assertEquals(listOf("ValidationError at /open311/v2/requests.json"), failing.messages.map { it.description })
            assertEquals(3u, reports.single { it.id == neverAccepted.id }.attempts)
        }
    }

    @Test
    fun `a neighbour's identical report is never taken for ours`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false)
            val root = endpoint.substringBefore("/open311/")
            core.setServer("twin", ServerConfig(endpoint = "$root/mode/neighbour_twin/open311/v2/", apiKey = "sandbox-key"))
            sandboxFault("commit_then_drop")
            val report = core.submit(core.createDraft(pothole("Pothole")).id, "twin")
            val state = untilAllNeedAttention(core).single { it.id == report.id }
            val attention = (state.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.AMBIGUOUS_MATCH, attention.kind)
            assertEquals(AttentionAction.CONFIRM_POSSIBLE_DUPLICATE, attention.action)
            assertEquals(null, state.requestId, "never marked sent on a guess")
        }
    }

    @Test
    fun `no ghost in the flow after edit and cancel`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false) // both wait for the network: still editable
            val edited = core.submit(core.createDraft(pothole("Kotlin edited")).id, "city")
            val cancelled = core.submit(core.createDraft(pothole("Kotlin cancelled")).id, "city")
            assertEquals(ReportState.WaitingForNetwork, edited.state)
            val flow = core.reportsFlow()
            withTimeout(10_000) { flow.first { list -> list.any { it.id == edited.id } } }
            core.editReport(edited.id)
            core.cancelReport(cancelled.id)
            val settled = withTimeout(10_000) {
                flow.first { list ->
                    list.none { it.id == edited.id } &&
                        list.singleOrNull { it.id == cancelled.id }?.state == ReportState.Cancelled
                }
            }
            assertEquals(listOf(cancelled.id), settled.map { it.id }, "the edited report is gone, not a ghost")
            assertEquals(1, core.listDrafts().size, "it is a draft again")
        }
    }

    @Test
    fun `the log reaches the app and carries no personal data`() = runBlocking<Unit> {
        val lines = java.util.Collections.synchronizedList(mutableListOf<String>())
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                lines.add("$level $target $message")
            }
        }, LogLevel.DEBUG)
        open().use { core ->
            core.setNetworkAvailable(false)
            val secret = "Kotlin log secret ${System.nanoTime()}"
            val report = core.submit(core.createDraft(pothole(secret)).id, "city")
            core.runPending(20.0)
            assertEquals(ReportState.Sent, core.reports().single { it.id == report.id }.state)
            val mine = lines.filter { report.id in it }
            assertTrue(mine.any { "from=in_flight" in it && "to=sent" in it }, "$mine")
            assertTrue(lines.any { it.contains("curbside::http") }, "exchanges are logged")
            assertTrue(lines.none { secret in it || "sandbox-key" in it || "38.8893" in it }, "$lines")
        }
    }

    @Test
    fun `a damaged database is salvaged and the app is told`() = runBlocking<Unit> {
        open().use { core ->
            core.setNetworkAvailable(false)
            core.submit(core.createDraft(pothole("Kotlin kept 1")).id, "city")
            core.submit(core.createDraft(pothole("Kotlin kept 2")).id, "city")
        }
        java.io.RandomAccessFile(dir.resolve("curbside.sqlite3").toFile(), "rw").use {
            it.write("overwritten here".toByteArray())
        }
        CurbsideCore(dir.toString()).use { core ->
            val recovery = assertNotNull(core.databaseRecovery(), "the damage is said")
            assertEquals(2u, recovery.reports)
            assertEquals(2, core.reports().size, "the reports came back")
            val told = kotlinx.coroutines.CompletableDeferred<DatabaseRecovery>()
            val subscription = core.subscribe(object : ReportListener {
                override fun onReports(reports: List<Report>) {}
                override fun onReportChanged(report: Report) {}
                override fun onReportRemoved(id: String, version: ULong) {}
                override fun onDatabaseRecovered(recovery: DatabaseRecovery) {
                    told.complete(recovery)
                }
            })
            assertEquals(recovery, withTimeout(5_000) { told.await() }, "an event for listeners")
            subscription.cancel()
        }
    }
}
