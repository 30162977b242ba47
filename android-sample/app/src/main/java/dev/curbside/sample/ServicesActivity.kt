package dev.curbside.sample

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import dev.curbside.ApiException
import dev.curbside.android.Curbside
import dev.curbside.open311.Service
import dev.curbside.types.Draft
import dev.curbside.types.DraftEdit
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/** The first screen: the city's services from the cached catalog, and the way to the outbox. */
class ServicesActivity : Activity() {
    private val scope = MainScope()
    private lateinit var services: LinearLayout
    private val status by lazy { label("status") }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        services = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        val outbox = Button(this).apply {
            text = getString(R.string.my_reports)
            tag = "outbox"
            setOnClickListener { startActivity(Intent(this@ServicesActivity, OutboxActivity::class.java)) }
        }
        val retry = Button(this).apply {
            text = getString(R.string.try_again)
            tag = "retry"
            visibility = View.GONE
            setOnClickListener {
                visibility = View.GONE
                (application as SampleApp).open()
                scope.launch { load(this@apply) }
            }
        }
        search.addTextChangedListener(object : android.text.TextWatcher {
            override fun afterTextChanged(text: android.text.Editable?) = showServices()
            override fun beforeTextChanged(text: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(text: CharSequence?, start: Int, before: Int, count: Int) {}
        })
        setContentView(column(status, retry, outbox, drafts, search, services))
        scope.launch { load(retry) }
        // Reports begun and not sent: continued where they were left.
        scope.launch { Curbside.drafts.collect { showDrafts(it) } }
    }

    private val drafts by lazy { LinearLayout(this).apply { orientation = LinearLayout.VERTICAL } }
    private val search by lazy { EditText(this).apply { tag = "search"; hint = getString(R.string.search_services) } }
    private var catalog: List<Service> = emptyList()

    private fun showDrafts(list: List<Draft>) {
        drafts.removeAllViews()
        for (draft in list) {
            val what = draft.fields.description.ifBlank { draft.fields.serviceCode.orEmpty() }
            drafts.addView(Button(this).apply {
                text = getString(R.string.continue_draft, what)
                tag = "draft:${draft.id}"
                setOnClickListener {
                    startActivity(Intent(this@ServicesActivity, ReportActivity::class.java).putExtra(ReportActivity.DRAFT, draft.id.value))
                }
            })
        }
    }

    /** The services by the city's groups, narrowed by the search (name, words, group). */
    private fun showServices() {
        val query = search.text.toString().trim().lowercase()
        val shown = catalog.filter { service ->
            query.isEmpty() || (listOf(service.name, service.description.orEmpty(), service.group.orEmpty()) + service.keywords)
                .any { query in it.lowercase() }
        }
        services.removeAllViews()
        for ((group, members) in shown.groupBy { it.group ?: getString(R.string.other_services) }) {
            services.addView(label("group:$group", group).apply { isHeading() })
            for (service in members) {
                services.addView(Button(this).apply {
                    text = service.name
                    tag = "service:${service.code}"
                    setOnClickListener { scope.launch { startReport(service.code) } }
                })
            }
        }
    }

    private fun android.widget.TextView.isHeading() {
        if (android.os.Build.VERSION.SDK_INT >= 28) isAccessibilityHeading = true
    }

    private suspend fun load(retry: View) {
        // Curbside may fail to open (a full disk, a damaged profile): said, with a way out.
        val core = try {
            Curbside.core()
        } catch (e: ApiException) {
            status.text = getString(R.string.cannot_open)
            retry.visibility = View.VISIBLE
            return
        }
        val cities = core.cities()
        val cityId = (application as SampleApp).cityId
        title = cities.profiles().firstOrNull { it.id == cityId }?.name ?: getString(R.string.app_name)
        val catalog = try {
            cities.services(cityId, false)
        } catch (e: ApiException) {
            status.text = getString(R.string.services_unavailable)
            return
        }
        status.text = getString(if (catalog.stale) R.string.services_stale else R.string.services_prompt)
        this.catalog = catalog.services
        showServices()
    }

    private suspend fun startReport(serviceCode: String) {
        val draft = Curbside.drafts { it.create(listOf(DraftEdit.City((application as SampleApp).cityId))) }
        startActivity(
            Intent(this, ReportActivity::class.java)
                .putExtra(ReportActivity.DRAFT, draft.id.value)
                .putExtra(ReportActivity.SERVICE, serviceCode),
        )
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
