package dev.curbside.sample

import android.content.Context
import android.graphics.BitmapFactory
import android.view.View
import android.widget.Button
import android.widget.ImageView
import android.widget.LinearLayout
import dev.curbside.types.Draft

/**
 * The draft's photos in the form: how many, a thumbnail of each (described for screen
 * readers), and a button to remove each. The photos are the pipeline's copies (upright,
 * downsized, without metadata): what the city will receive.
 */
class PhotoSection(private val context: Context, private val remove: (String) -> Unit) {
    private val count = context.label("photos")
    private val list = LinearLayout(context).apply { orientation = LinearLayout.VERTICAL }

    /** The section's views, in reading order. */
    val view: View = LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        addView(count)
        addView(list)
    }

    /** Shows the draft's photos. */
    fun show(draft: Draft) {
        val photos = draft.fields.photos
        count.text = context.getString(R.string.photo_count, photos.size)
        list.removeAllViews()
        val edge = (96 * context.resources.displayMetrics.density).toInt()
        photos.forEachIndexed { index, path ->
            list.addView(ImageView(context).apply {
                tag = "thumb:$index"
                contentDescription = context.getString(R.string.photo_described, index + 1)
                layoutParams = LinearLayout.LayoutParams(edge, edge)
                scaleType = ImageView.ScaleType.CENTER_CROP
                setImageBitmap(thumbnail(path, edge))
            })
            list.addView(Button(context).apply {
                tag = "remove-photo:$index"
                text = context.getString(R.string.remove_photo, index + 1)
                setOnClickListener { remove(path) }
            })
        }
    }

    /** Decoded at about [edge] pixels, never whole (a photo is up to a few megapixels). */
    private fun thumbnail(path: String, edge: Int) = runCatching {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeFile(path, bounds)
        var sample = 1
        while (bounds.outWidth / (sample * 2) >= edge && bounds.outHeight / (sample * 2) >= edge) sample *= 2
        BitmapFactory.decodeFile(path, BitmapFactory.Options().apply { inSampleSize = sample })
    }.getOrNull()
}
