package dev.curbside.android

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import dev.curbside.CurbsideTexts
import dev.curbside.types.HistoryEvent
import dev.curbside.types.Report
import dev.curbside.types.ReportId

/**
 * Tells the citizen when the city changes a report's status (picked up by a refresh), with a
 * notification in their language: "closed: Fixed, thank you". The statuses seen when the app
 * opens are the starting point, so only a change seen while it runs is told. Where the
 * citizen did not allow notifications (Android 13+), nothing is posted.
 */
class StatusNotifier(private val context: Context) {
    private val manager = context.getSystemService(NotificationManager::class.java)
    private val texts = CurbsideTexts.of(context)
    private var seen: Map<ReportId, String?>? = null

    /** Compares [reports] with what was seen, and tells each status that changed. */
    @Synchronized
    fun update(reports: List<Report>) {
        val before = seen
        seen = reports.associate { it.id to it.status }
        if (before == null) return
        for (report in reports) {
            val status = report.status ?: continue
            if (report.id in before && before[report.id] != status) notify(report, status)
        }
    }

    private fun notify(report: Report, status: String) {
        val allowed = Build.VERSION.SDK_INT < 33 ||
            context.checkSelfPermission(android.Manifest.permission.POST_NOTIFICATIONS) == PackageManager.PERMISSION_GRANTED
        if (!allowed || manager == null) return
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL, context.getString(R.string.curbside_channel_status), NotificationManager.IMPORTANCE_DEFAULT),
        )
        val notification = android.app.Notification.Builder(context, CHANNEL)
            .setSmallIcon(context.applicationInfo.icon.takeIf { it != 0 } ?: android.R.drawable.stat_notify_sync)
            .setContentTitle(report.description.take(60))
            .setContentText(texts.history(HistoryEvent.StatusChanged(status, report.statusNotes)))
            .setAutoCancel(true)
            .build()
        manager.notify(report.id.value.hashCode(), notification)
    }

    private companion object {
        const val CHANNEL = "curbside-status"
    }
}
