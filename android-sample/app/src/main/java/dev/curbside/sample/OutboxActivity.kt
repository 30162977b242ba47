package dev.curbside.sample

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import dev.curbside.ApiException
import dev.curbside.CurbsideTexts
import dev.curbside.android.Curbside
import dev.curbside.android.of
import dev.curbside.types.AttentionAction
import dev.curbside.types.Report
import dev.curbside.types.ReportState
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * The outbox: every report with where it is, and what the user can do when one needs them
 * (fix and resend, or send again after checking). Updates live as the worker sends.
 */
class OutboxActivity : Activity() {
    private val scope = MainScope()
    private val texts by lazy { CurbsideTexts.of(this) }
    private val rows by lazy { LinearLayout(this).apply { orientation = LinearLayout.VERTICAL } }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        title = getString(R.string.my_reports)
        val refresh = Button(this).apply {
            text = getString(R.string.refresh)
            tag = "refresh"
            setOnClickListener { scope.launch { runCatching { Curbside.core().outbox().syncNow() } } }
        }
        setContentView(column(refresh, rows))
        scope.launch { Curbside.reports.collect { show(it) } }
    }

    private fun show(reports: List<Report>) {
        rows.removeAllViews()
        for (report in reports) {
            rows.addView(label("report:${report.id}", "${report.description}\n${state(report)}"))
            val attention = (report.state as? ReportState.NeedsAttention)?.attention ?: continue
            val (name, act) = when (attention.action) {
                AttentionAction.EDIT_AND_RESUBMIT -> getString(R.string.fix_and_send) to { fix(report) }
                AttentionAction.CONFIRM_POSSIBLE_DUPLICATE -> getString(R.string.send_again) to { retry(report) }
                AttentionAction.CHECK_SETTINGS -> continue
            }
            rows.addView(Button(this).apply {
                text = name
                tag = "act:${report.id}"
                setOnClickListener { act() }
            })
        }
    }

    private fun state(report: Report): String = when (val state = report.state) {
        ReportState.Queued -> getString(R.string.state_queued)
        ReportState.WaitingForNetwork -> getString(R.string.state_waiting_for_network)
        is ReportState.Sending -> getString(R.string.state_sending)
        // The city's status is the city's word, shown as it comes.
        ReportState.Sent -> (report.requestId?.let { getString(R.string.state_sent_as, it) } ?: getString(R.string.state_sent)) +
            (report.status?.let { " ($it)" } ?: "")
        is ReportState.NeedsAttention -> texts.attention(state.attention) +
            state.attention.messages.joinToString("") { "\n“${it.description}”" }
        ReportState.Cancelled -> getString(R.string.state_withdrawn)
    }

    private fun fix(report: Report) = scope.launch {
        try {
            val draft = Curbside.drafts { Curbside.core().outbox().edit(report.id) }
            startActivity(Intent(this@OutboxActivity, ReportActivity::class.java).putExtra(ReportActivity.DRAFT, draft.id.value))
        } catch (e: ApiException) {
            rows.addView(label("error", getString(R.string.cannot_change)))
        }
    }

    private fun retry(report: Report) = scope.launch {
        runCatching { Curbside.core().outbox().retry(report.id) }
        Curbside.submitted(this@OutboxActivity)
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
