package dev.curbside.sample

import android.content.Context
import android.view.View
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob

/** Screens are built in code: a scrolling column of views. */
fun Context.column(vararg views: View): ScrollView = ScrollView(this).apply {
    addView(LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(32, 32, 32, 32)
        views.forEach { addView(it) }
    })
}

/** A line of text, found by tests through its tag. */
fun Context.label(tag: String, text: CharSequence = ""): TextView = TextView(this).apply {
    this.tag = tag
    this.text = text
}

/**
 * Work that must finish even when its screen goes (saving a draft on rotation): it runs in
 * the process, not the Activity.
 */
val processScope = CoroutineScope(SupervisorJob() + Dispatchers.Main.immediate)
