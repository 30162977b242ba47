package dev.curbside

import dev.curbside.types.*
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/**
 * The outbox as a [Flow]: every report (newest first) now, and again after each change or
 * removal. A copy older than the one held (a lower `version`) is dropped; a removed report
 * (turned back into a draft) leaves the list. Collect it from a ViewModel; collection stops
 * the underlying subscription when cancelled.
 */
fun Outbox.reportsFlow(): Flow<List<Report>> = callbackFlow {
    val current = LinkedHashMap<ReportId, Report>()
    val removed = HashMap<ReportId, ULong>()
    fun publish() {
        trySend(current.values.sortedByDescending { it.createdAt })
    }
    val subscription = subscribe(object : ReportListener {
        override fun onReports(reports: List<Report>) {
            synchronized(current) {
                current.clear()
                reports.forEach { current[it.id] = it }
                publish()
            }
        }

        override fun onReportChanged(report: Report) {
            synchronized(current) {
                val held = current[report.id]?.version ?: removed[report.id]
                if (held == null || report.version > held) {
                    current[report.id] = report
                    publish()
                }
            }
        }

        // The list carries no warnings: apps read `databaseRecovery()` at start.
        override fun onDatabaseRecovered(recovery: DatabaseRecovery) {}

        override fun onReportRemoved(id: ReportId, version: ULong) {
            synchronized(current) {
                current.remove(id)
                removed[id] = version
                publish()
            }
        }
    })
    awaitClose { subscription.cancel() }
}.buffer(capacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST)
