package dev.curbside.sample

import android.app.Activity
import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import dev.curbside.CurbsideConfig
import dev.curbside.CurbsideCore
import dev.curbside.types.DraftEdit
import dev.curbside.sample.core.DraftsModel
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.collectLatest
import kotlinx.coroutines.launch

/** One screen: a button that saves a draft, and the list of saved drafts. */
class MainActivity : Activity() {
    private val scope = MainScope()
    private var core: CurbsideCore? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        scope.launch {
            // The app owns the path: Curbside keeps its database in the app's private files.
            val opened = CurbsideCore.open(CurbsideConfig(dataDir = filesDir.resolve("curbside").path))
            core = opened
            show(DraftsModel(opened.drafts()))
        }
    }

    private fun show(model: DraftsModel) {

        val list = TextView(this)
        val add = Button(this).apply {
            text = "Save a draft"
            setOnClickListener {
                scope.launch { model.save(null, listOf(DraftEdit.Service("pothole"), DraftEdit.Description("Pothole"))) }
            }
        }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            addView(add)
            addView(list)
        })

        scope.launch {
            model.state.collectLatest { state ->
                list.text = state.error ?: state.drafts.joinToString("\n") { "${it.fields.serviceCode}: ${it.fields.description}" }
            }
        }
        scope.launch { model.refresh() }
    }

    override fun onDestroy() {
        scope.cancel()
        core?.close()
        super.onDestroy()
    }
}
