package dev.curbside.sample

import android.app.Activity
import android.os.Bundle
import android.text.format.DateUtils
import dev.curbside.ApiException
import dev.curbside.CurbsideTexts
import dev.curbside.android.Curbside
import dev.curbside.android.of
import dev.curbside.types.ReportId
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * One report: what was written, where it is, the city's number and status, and its history
 * in the citizen's words (each step of sending, and the city's notes as they came).
 */
class DetailActivity : Activity() {
    private val scope = MainScope()
    private val texts by lazy { CurbsideTexts.of(this) }
    private val summary by lazy { label("summary") }
    private val history by lazy { label("history") }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        title = getString(R.string.report_title)
        setContentView(column(summary, label("history-header", getString(R.string.history_header)), history))
        val id = ReportId(intent.getStringExtra(REPORT)!!)
        scope.launch {
            try {
                val detail = Curbside.core().outbox().report(id)
                val report = detail.report
                summary.text = listOfNotNull(
                    report.description,
                    report.requestId?.let { getString(R.string.city_number, it) },
                    report.status?.let { getString(R.string.city_status, it) },
                    report.statusNotes,
                ).joinToString("\n")
                history.text = detail.history.joinToString("\n") { entry ->
                    val at = DateUtils.formatDateTime(this@DetailActivity, entry.at.toEpochMilli(),
                        DateUtils.FORMAT_SHOW_DATE or DateUtils.FORMAT_SHOW_TIME)
                    "$at  ${texts.history(entry.event)}"
                }
            } catch (e: ApiException) {
                summary.text = getString(R.string.cannot_open_report)
            }
        }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        /** Extra: the report's id. */
        const val REPORT = "report"
    }
}
