package dev.curbside.sample

import android.content.Context
import android.view.View
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob

/** Screens are built in code: a scrolling column of views, 16 dp from the edges. */
fun Context.column(vararg views: View): ScrollView = ScrollView(this).apply {
    val edge = (16 * resources.displayMetrics.density).toInt()
    addView(LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(edge, edge, edge, edge)
        views.forEach { addView(it) }
    })
}

/**
 * A line of text (in sp, so it follows the font scale), found by tests through its tag; a
 * screen reader announces it when it changes (the status, issues, where the report is).
 */
fun Context.label(tag: String, text: CharSequence = ""): TextView = TextView(this).apply {
    this.tag = tag
    this.text = text
    textSize = 16f
    accessibilityLiveRegion = View.ACCESSIBILITY_LIVE_REGION_POLITE
}

/**
 * Work that must finish even when its screen goes (saving a draft on rotation): it runs in
 * the process, not the Activity.
 */
val processScope = CoroutineScope(SupervisorJob() + Dispatchers.Main.immediate)
