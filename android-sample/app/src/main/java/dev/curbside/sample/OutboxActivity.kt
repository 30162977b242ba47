package dev.curbside.sample

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.widget.Button
import android.widget.EditText
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
        askToNotify()
        scope.launch { Curbside.reports.collect { show(it) } }
    }

    /** Asks once (Android 13+) to tell the citizen when the city changes their report's status. */
    private fun askToNotify() {
        if (android.os.Build.VERSION.SDK_INT >= 33 &&
            checkSelfPermission(android.Manifest.permission.POST_NOTIFICATIONS) != android.content.pm.PackageManager.PERMISSION_GRANTED
        ) {
            requestPermissions(arrayOf(android.Manifest.permission.POST_NOTIFICATIONS), 1)
        }
    }

    private fun show(reports: List<Report>) {
        rows.removeAllViews()
        for (report in reports) {
            rows.addView(label("report:${report.id}", "${report.description}\n${state(report)}").apply {
                // Its detail and history, a tap away.
                setOnClickListener {
                    startActivity(Intent(this@OutboxActivity, DetailActivity::class.java).putExtra(DetailActivity.REPORT, report.id.value))
                }
            })
            val attention = (report.state as? ReportState.NeedsAttention)?.attention
            // What the user can do about each reason it waits for them.
            when (attention?.action) {
                AttentionAction.EDIT_AND_RESUBMIT -> action(report, "act", R.string.fix_and_send) { fix(report) }
                AttentionAction.CONFIRM_POSSIBLE_DUPLICATE -> {
                    action(report, "act", R.string.send_again) { retry(report) }
                    confirmation(report)
                }
                AttentionAction.CHECK_SETTINGS -> rows.addView(label("settings:${report.id}", getString(R.string.check_settings)))
                null -> {}
            }
            // A way out of every wait (the core says where): withdrawn, never sent again.
            if (report.withdrawable) action(report, "withdraw", R.string.withdraw) { withdraw(report) }
        }
    }

    private fun action(report: Report, kind: String, name: Int, act: () -> Unit) {
        rows.addView(Button(this).apply {
            text = getString(name)
            tag = "$kind:${report.id}"
            setOnClickListener { act() }
        })
    }

    /** "It did arrive": the city's id, as the citizen found it (the city's site, its e-mail). */
    private fun confirmation(report: Report) {
        val id = EditText(this).apply { tag = "request-id:${report.id}"; hint = getString(R.string.city_request_id) }
        rows.addView(id)
        action(report, "confirm", R.string.it_arrived) {
            val requestId = id.text.toString().trim()
            if (requestId.isNotEmpty()) scope.launch { runCatching { Curbside.core().outbox().confirm(report.id, requestId) } }
        }
    }

    private fun withdraw(report: Report) = scope.launch {
        runCatching { Curbside.core().outbox().withdraw(report.id) }
            .onFailure { rows.addView(label("error", getString(R.string.cannot_change))) }
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
