package dev.curbside

import dev.curbside.open311.*
import dev.curbside.types.*
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Path
import java.time.Duration
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The outbox through the generated Kotlin API and the `reportsFlow()` wrapper, against the sandbox. */
class OutboxTest {
    @TempDir
    lateinit var dir: Path

    private suspend fun untilSent(core: CurbsideCore, report: Report) = withTimeout(20_000) {
        core.outbox().reportsFlow().first { list -> list.any { it.id == report.id && it.state == ReportState.Sent } }
    }.single { it.id == report.id }

    @Test
    fun `a submitted report reaches the city and the flow shows every step`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            val report = core.report(pothole("Kotlin outbox report"))
            assertTrue(core.drafts().list().isEmpty(), "the draft became the report")
            val sent = untilSent(core, report)
            assertNotNull(sent.requestId)
            val detail = core.outbox().report(report.id)
            assertEquals(
                listOf(HistoryEvent.Submitted, HistoryEvent.Received(sent.requestId)),
                detail.history.map { it.event },
            )
        }
    }

    @Test
    fun `no api key and no contact details are left on the device after a full flow`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            val edits = pothole("Kotlin private report") +
                DraftEdit.Contact(Contact(firstName = "Grace", email = "grace.hopper@example.org", phone = "+1 555 0199 4711"))
            val report = core.report(edits)
            untilSent(core, report)
            core.shutdown()
        }
        val bytes = dir.toFile().walk().filter { it.isFile }.map { String(it.readBytes(), Charsets.ISO_8859_1) }.joinToString()
        assertTrue("Kotlin private report" in bytes, "the search reads the database")
        for (private in listOf("sandbox-key", "grace.hopper@example.org", "0199 4711")) {
            assertFalse(private in bytes, "$private is on the device")
        }
    }

    @Test
    fun `finished reports are kept as long as the app says`() = runBlocking<Unit> {
        val config = CurbsideConfig(
            dataDir = dir.toString(), profiles = listOf(profile("city")), apiKeys = mapOf("city" to "sandbox-key"),
            retry = fast, retention = Retention(Duration.ofDays(90), 1u, 50u),
        )
        CurbsideCore.open(config).use { core ->
            val first = core.report(pothole("Kotlin kept 1"))
            val second = core.report(pothole("Kotlin kept 2"))
            withTimeout(20_000) {
                core.outbox().reportsFlow().first { list ->
                    list.filter { it.id == first.id || it.id == second.id }.count { it.state == ReportState.Sent } == 2
                }
            }
            core.outbox().syncNow() // a sending run ends with a prune
            val kept = core.outbox().reports().filter { it.id == first.id || it.id == second.id }
            assertEquals(1, kept.size, "only the newest finished report")
        }
    }

    @Test
    fun `a lost answer is checked, not sent twice`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            val description = "Kotlin lost answer ${System.nanoTime()}"
            Sandbox.fault("commit_then_drop")
            val report = core.report(pothole(description))
            untilSent(core, report)
            val history = core.outbox().report(report.id).history.map { it.event }
            assertTrue(HistoryEvent.NoAnswer in history, "$history")
            // Asked of the city's server directly, as anyone reading its open data would.
            val listing = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI(Sandbox.endpoint).resolve("requests.json?service_code=pothole&page_size=500")).build(),
                HttpResponse.BodyHandlers.ofString(),
            ).body()
            assertEquals(1, Regex(Regex.escape("\"description\":\"$description\"")).findAll(listing).count(), listing)
        }
    }

    @Test
    fun `offline reports can be cancelled, and what cannot be sent is refused at submit`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            core.outbox().setNetworkAvailable(false)
            val report = core.report(pothole("never mind"))
            assertEquals(ReportState.WaitingForNetwork, core.outbox().reports().single { it.id == report.id }.state)
            val newer = core.report(pothole("a newer one"))
            val firstPage = core.outbox().page(1u, 0u)
            assertEquals(2u, firstPage.total, "a screen knows how many there are")
            assertEquals(listOf(newer.id), firstPage.reports.map { it.id }, "newest first")
            assertEquals(listOf(report.id), core.outbox().page(1u, 1u).reports.map { it.id })
            core.outbox().cancel(newer.id)
            assertEquals(ReportState.Cancelled, core.outbox().cancel(report.id).state)

            val incomplete = core.drafts().create(listOf(DraftEdit.City("city"), DraftEdit.Description("no service yet")))
            val error = assertFailsWith<ApiException.NotReady> { core.outbox().submit(incomplete.id) }
            assertEquals(listOf("service_code", "location"), error.issues.map { it.field })
            assertEquals(listOf(FieldIssue.ChooseService, FieldIssue.PlaceOrAddress), error.issues.map { it.issue })
            val nowhere = core.drafts().create(pothole("for no city", city = "atlantis"))
            assertFailsWith<ApiException.NotFound> { core.outbox().submit(nowhere.id) }
            val noCity = core.drafts().create(listOf(DraftEdit.Description("no city")))
            assertEquals("profile_id", assertFailsWith<ApiException.InvalidInput> { core.outbox().submit(noCity.id) }.field)
            assertEquals(3, core.drafts().list().size, "a refused draft stays a draft")
        }
    }

    @Test
    fun `background runs report what they did`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            core.outbox().setNetworkAvailable(false)
            core.report(pothole("sent by run_pending"))
            val summary = core.outbox().runPending(Duration.ofSeconds(20))
            assertEquals(0u, summary.waiting)
            assertTrue(core.outbox().reports().all { it.state == ReportState.Sent })
            val sync = core.outbox().syncNow()
            assertEquals(0u, sync.waiting)
            assertEquals(null, sync.statusError, "the status refresh worked")
            assertTrue(!sync.skippedBusy)
        }
    }

    /** Runs the outbox (worker off) until every report waits for the user, or fails the test. */
    private suspend fun untilAllNeedAttention(core: CurbsideCore): List<Report> {
        repeat(60) {
            core.outbox().runPending(Duration.ofSeconds(10))
            val reports = core.outbox().reports()
            if (reports.all { it.state is ReportState.NeedsAttention }) return reports
            Thread.sleep(100)
        }
        error("still not waiting for the user: ${core.outbox().reports().map { it.state }}")
    }

    @Test
    fun `what a stubborn city answers becomes a code the app can show`() = runBlocking<Unit> {
        // A city that answers a bad key with 400, and one that answers a report it will
        // never accept with a framework's 500 debug page.
        val strict = profile("strict", Sandbox.mode("key_400"))
        val fragile = profile("fragile", Sandbox.mode("refuse_500"))
        openCurbside(dir, strict, fragile, keys = mapOf("strict" to "revoked", "fragile" to "sandbox-key")).use { core ->
            core.outbox().setNetworkAvailable(false) // driven by runPending only
            val badKey = core.report(pothole("Kotlin bad key", city = "strict"))
            val neverAccepted = core.report(pothole("Kotlin bottomless", city = "fragile", depth = "bottomless"))
            val reports = untilAllNeedAttention(core)

            val key = (reports.single { it.id == badKey.id }.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.SETTINGS_REFUSED, key.kind)
            assertEquals(AttentionAction.CHECK_SETTINGS, key.action)
            assertEquals(listOf("Invalid API key"), key.messages.map { it.description })

            val failing = (reports.single { it.id == neverAccepted.id }.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.SERVER_KEEPS_FAILING, failing.kind)
            assertEquals(AttentionAction.EDIT_AND_RESUBMIT, failing.action)
            assertEquals(3u, failing.count, "how many times it failed, for the text")
            assertEquals(listOf("ValidationError at /open311/v2/requests.json"), failing.messages.map { it.description })
            assertEquals(3u, reports.single { it.id == neverAccepted.id }.attempts)
        }
    }

    /**
     * With 1,000 reports present, the exports that once touched the disk on the caller's
     * thread (the network hint, a subscription's first list) return at once and leave the
     * work to the SDK's threads: nothing is logged from the calling thread.
     */
    @Test
    fun `with 1,000 reports the network hint and a subscription leave the caller's thread at once`() = runBlocking<Unit> {
        val threads = java.util.concurrent.ConcurrentLinkedQueue<String>()
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                threads.add("$target ${Thread.currentThread().name}")
            }
        }, LogLevel.DEBUG)
        // Nothing listens there: every attempt ends "unreachable", waiting for the network.
        val nowhere = profile("nowhere", "http://127.0.0.1:9/open311/v2/")
        openCurbside(dir, nowhere, keys = mapOf("nowhere" to "sandbox-key")).use { core ->
            core.outbox().setNetworkAvailable(false)
            repeat(1000) { core.report(pothole("Kotlin many $it", city = "nowhere")) }
            val ui = java.util.concurrent.Executors.newSingleThreadExecutor { Thread(it, "ui-thread") }
                .asCoroutineDispatcher()
            ui.use {
                kotlinx.coroutines.withContext(ui) {
                    // The worker wakes and tries the 1,000 reports: elsewhere.
                    core.outbox().setNetworkAvailable(true)
                    val listed = kotlinx.coroutines.CompletableDeferred<Int>()
                    val subscription = core.outbox().subscribe(object : ReportListener {
                        override fun onReports(reports: List<Report>) { listed.complete(reports.size) }
                        override fun onReportChanged(report: Report) {}
                        override fun onReportRemoved(id: ReportId, version: ULong) {}
                        override fun onDatabaseRecovered(recovery: DatabaseRecovery) {}
                    })
                    assertEquals(1000, withTimeout(60_000) { listed.await() })
                    subscription.cancel()
                }
            }
            withTimeout(60_000) {
                while (threads.none { it.startsWith("curbside::outbox") }) kotlinx.coroutines.delay(50)
            }
        }
        assertTrue(threads.none { " ui-thread" in it }, "work ran on the caller's thread: ${threads.filter { " ui-thread" in it }}")
    }

    @Test
    fun `a report that waits for the user can be withdrawn or confirmed, and everything forgotten`() = runBlocking<Unit> {
        // Answered `[{}]` by a city whose lists cannot be searched: the user decides.
        val lost = profile("lost", Sandbox.mode("empty_object,lists_refused"))
        openCurbside(dir, lost, keys = mapOf("lost" to "sandbox-key")).use { core ->
            core.outbox().setNetworkAvailable(false)
            val first = core.report(pothole("Kotlin withdrawn", city = "lost"))
            val second = core.report(pothole("Kotlin confirmed", city = "lost"))
            val waiting = untilAllNeedAttention(core)
            for (report in waiting) {
                assertEquals(AttentionKind.UNSEARCHABLE, (report.state as ReportState.NeedsAttention).attention.kind)
            }
            assertEquals(ReportState.Cancelled, core.outbox().withdraw(first.id).state)
            assertTrue(core.outbox().report(first.id).history.any { it.event == HistoryEvent.Withdrawn })
            val confirmed = core.outbox().confirm(second.id, "H-77")
            assertEquals(ReportState.Sent, confirmed.state)
            assertEquals("H-77", confirmed.requestId)
            assertTrue(core.outbox().report(second.id).history.any { it.event == HistoryEvent.ConfirmedByUser("H-77") })

            val never = core.report(pothole("Kotlin never posted"))
            assertFailsWith<ApiException.InvalidInput> { core.outbox().confirm(never.id, "H-78") }
            val stopped = core.forgetEverything(false)
            assertFalse(stopped.done)
            assertEquals(listOf(never.id), stopped.unsent.map { it.id })
            val forgotten = core.forgetEverything(true)
            assertTrue(forgotten.done)
            assertEquals(3u, forgotten.reports)
            assertTrue(core.outbox().reports().isEmpty())
        }
    }

    @Test
    fun `a neighbour's identical report is never taken for ours, and the user may send it`() = runBlocking<Unit> {
        openCurbside(dir, profile("twin", Sandbox.mode("neighbour_twin")), keys = mapOf("twin" to "sandbox-key")).use { core ->
            core.outbox().setNetworkAvailable(false)
            Sandbox.fault("commit_then_drop")
            val report = core.report(pothole("Pothole", city = "twin"))
            val state = untilAllNeedAttention(core).single { it.id == report.id }
            val attention = (state.state as ReportState.NeedsAttention).attention
            assertEquals(AttentionKind.AMBIGUOUS_MATCH, attention.kind)
            assertEquals(AttentionAction.CONFIRM_POSSIBLE_DUPLICATE, attention.action)
            assertEquals(null, state.requestId, "never marked sent on a guess")
            // The user confirms: it is queued again (shown waiting for the network while the
            // hint says offline).
            assertEquals(ReportState.WaitingForNetwork, core.outbox().retry(report.id).state)
            assertTrue(core.outbox().report(report.id).history.any { it.event == HistoryEvent.RetriedByUser })
        }
    }

    @Test
    fun `no ghost in the flow after edit and cancel`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            core.outbox().setNetworkAvailable(false) // both wait for the network: still editable
            val edited = core.report(pothole("Kotlin edited"))
            val cancelled = core.report(pothole("Kotlin cancelled"))
            assertEquals(ReportState.WaitingForNetwork, edited.state)
            val flow = core.outbox().reportsFlow()
            withTimeout(10_000) { flow.first { list -> list.any { it.id == edited.id } } }
            core.outbox().edit(edited.id)
            core.outbox().cancel(cancelled.id)
            val settled = withTimeout(10_000) {
                flow.first { list ->
                    list.none { it.id == edited.id } &&
                        list.singleOrNull { it.id == cancelled.id }?.state == ReportState.Cancelled
                }
            }
            assertEquals(listOf(cancelled.id), settled.map { it.id }, "the edited report is gone, not a ghost")
            val page = core.outbox().page(10u, 0u)
            assertEquals(1u, page.total)
            assertEquals(listOf(cancelled.id), page.reports.map { it.id })
            assertEquals(1, core.drafts().list().size, "it is a draft again")
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
        openCurbside(dir).use { core ->
            core.outbox().setNetworkAvailable(false)
            val secret = "Kotlin log secret ${System.nanoTime()}"
            val report = core.report(pothole(secret))
            core.outbox().runPending(Duration.ofSeconds(20))
            assertEquals(ReportState.Sent, core.outbox().reports().single { it.id == report.id }.state)
            val mine = lines.filter { report.id.value in it }
            assertTrue(mine.any { "from=in_flight" in it && "to=sent" in it }, "$mine")
            assertTrue(lines.any { it.contains("curbside::http") }, "exchanges are logged")
            assertTrue(lines.none { secret in it || "sandbox-key" in it || "38.8893" in it }, "$lines")
        }
    }

    @Test
    fun `a damaged database is salvaged, the app is told, and support gets no contact details`() = runBlocking<Unit> {
        openCurbside(dir).use { core ->
            core.outbox().setNetworkAvailable(false)
            core.report(pothole("Kotlin kept 1") + DraftEdit.Contact(Contact(email = "kept.private@example.org")))
            core.report(pothole("Kotlin kept 2"))
            core.shutdown()
        }
        java.io.RandomAccessFile(dir.resolve("curbside.sqlite3").toFile(), "rw").use {
            it.write("overwritten here".toByteArray())
        }
        openCurbside(dir).use { core ->
            val recovery = assertNotNull(core.databaseRecovery(), "the damage is said")
            assertEquals(2u, recovery.reports)
            assertEquals(2, core.outbox().reports().size, "the reports came back")
            val told = kotlinx.coroutines.CompletableDeferred<DatabaseRecovery>()
            val subscription = core.outbox().subscribe(object : ReportListener {
                override fun onReports(reports: List<Report>) {}
                override fun onReportChanged(report: Report) {}
                override fun onReportRemoved(id: ReportId, version: ULong) {}
                override fun onDatabaseRecovered(recovery: DatabaseRecovery) {
                    told.complete(recovery)
                }
            })
            assertEquals(recovery, withTimeout(5_000) { told.await() }, "an event for listeners")
            subscription.cancel()

            val export = dir.resolve("for-support.sqlite3").toString()
            val exported = core.exportForSupport(export)
            assertEquals(2u, exported.reports)
            val text = String(java.io.File(export).readBytes(), Charsets.ISO_8859_1)
            assertTrue("Kotlin kept 1" in text && "kept.private@example.org" !in text)
        }
    }
}
