package dev.curbside.android

import android.content.Context
import dev.curbside.CurbsideTexts

/**
 * Curbside's codes in the user's words, from this library's string resources in the device's
 * language (English and Finnish shipped; an app adds `values-xx/strings.xml` for more).
 */
fun CurbsideTexts.Companion.of(context: Context): CurbsideTexts = CurbsideTexts { name, args ->
    context.getString(context.resources.getIdentifier(name, "string", context.packageName), *args)
}
