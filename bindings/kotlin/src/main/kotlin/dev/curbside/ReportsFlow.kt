package dev.curbside

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.channels.BufferOverflow

/**
 * The outbox as a [Flow]: every report (newest first) now, and again after each change.
 * Collect it from a ViewModel; collection stops the underlying subscription when cancelled.
 */
fun CurbsideCore.reportsFlow(): Flow<List<Report>> = callbackFlow {
    val current = LinkedHashMap<String, Report>()
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
                current[report.id] = report
                publish()
            }
        }
    })
    awaitClose { subscription.cancel() }
}.buffer(capacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST)
