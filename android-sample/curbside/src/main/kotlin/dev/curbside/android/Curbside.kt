package dev.curbside.android

import android.content.Context
import dev.curbside.CurbsideConfig
import dev.curbside.CurbsideCore
import dev.curbside.reportsFlow
import dev.curbside.types.Draft
import dev.curbside.types.DraftId
import dev.curbside.types.Report
import dev.curbside.types.ReportState
import dev.curbside.types.RunSummary
import java.io.File
import java.time.Duration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * Curbside in an Android app: one core per process, opened off the main thread from
 * `Application.onCreate` with [initialize]; the outbox and the drafts as [StateFlow]s for
 * screens; the platform's connectivity fed to the core ([NetworkHint]); and submitted reports
 * sent in the background by WorkManager ([SyncWorker]), also after the app is gone.
 */
object Curbside {
    /** How sending in the background is asked for: WorkManager ([SyncWorker]) by default. */
    fun interface BackgroundSync {
        /** Asks for a run of [Curbside.sync] as soon as the network allows. */
        fun schedule(context: Context)
    }

    /** Background sending by WorkManager: the library's [SyncWorker]. */
    val workManager = BackgroundSync { SyncWorker.enqueue(it) }

    private var background: BackgroundSync = workManager
    private var scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    @Volatile private var opening: Deferred<CurbsideCore>? = null
    private var network: NetworkHint? = null
    private val _reports = MutableStateFlow<List<Report>>(emptyList())
    private val _drafts = MutableStateFlow<List<Draft>>(emptyList())

    /** Every submitted report, newest first, updated as the outbox changes. */
    val reports: StateFlow<List<Report>> = _reports.asStateFlow()

    /** Every draft, newest first, updated after each change made through [drafts]. */
    val drafts: StateFlow<List<Draft>> = _drafts.asStateFlow()

    /**
     * Opens Curbside once per process (later calls return the same opening, unless it failed:
     * then they try again, so a screen can offer "try again"). [config] gets the data
     * directory to use (`filesDir/curbside`) and returns the configuration: the city profiles
     * from the app's assets, and keys from its build config or the Keystore.
     */
    @Synchronized
    fun initialize(
        context: Context,
        config: (dataDir: String) -> CurbsideConfig,
        background: BackgroundSync = workManager,
    ): Deferred<CurbsideCore> {
        // A failed opening is not kept: its Deferred is cancelled (completed with the error).
        opening?.takeUnless { it.isCancelled }?.let { return it }
        this.background = background
        val app = context.applicationContext
        val dataDir = File(app.filesDir, "curbside").path
        val opened = scope.async {
            val core = CurbsideCore.open(config(dataDir))
            val notifier = StatusNotifier(app)
            scope.launch {
                core.outbox().reportsFlow().collect { reports ->
                    _reports.value = reports
                    notifier.update(reports)
                    if (reports.any { it.isWaiting() }) background.schedule(app)
                }
            }
            _drafts.value = core.drafts().list()
            network = withContext(Dispatchers.Main) {
                NetworkHint(app, core.outbox()) { background.schedule(app) }.also { it.start() }
            }
            core
        }
        opening = opened
        return opened
    }

    /** The core, once open (waits for the open started by [initialize]). */
    suspend fun core(): CurbsideCore =
        (opening ?: error("call Curbside.initialize from Application.onCreate first")).await()

    /** Changes drafts through [change] and then re-reads them into [drafts]. */
    suspend fun <T> drafts(change: suspend (dev.curbside.Drafts) -> T): T {
        val drafts = core().drafts()
        try {
            return change(drafts)
        } finally {
            _drafts.value = drafts.list()
        }
    }

    /** Submits a draft to its city and asks WorkManager to send it when the network allows. */
    suspend fun submit(context: Context, draftId: DraftId): Report {
        val report = drafts { core().outbox().submit(draftId) }
        background.schedule(context.applicationContext)
        return report
    }

    /** Asks WorkManager to send what waits (after a report was sent again by the user). */
    fun submitted(context: Context) = background.schedule(context.applicationContext)

    /** The background worker's job: sends what is due within [budget]. */
    suspend fun sync(budget: Duration): RunSummary = core().outbox().runPending(budget)

    /**
     * Closes Curbside (the process is ending; tests between runs): stops the worker and the
     * network observer; [initialize] may be called again afterwards.
     */
    suspend fun shutdown() {
        val opened = synchronized(this) { opening.also { opening = null } } ?: return
        network?.stop()
        network = null
        runCatching { opened.await() }.getOrNull()?.shutdown()
        scope.cancel()
        scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        _reports.value = emptyList()
        _drafts.value = emptyList()
    }

    private fun Report.isWaiting() =
        state == ReportState.Queued || state == ReportState.WaitingForNetwork || state is ReportState.Sending
}
