package dev.curbside.android

import android.content.Context
import dev.curbside.CurbsideTexts

/**
 * Curbside's codes in the user's words, from this library's string resources in the device's
 * language (English and Finnish shipped; an app adds `values-xx/strings.xml` for more).
 */
fun CurbsideTexts.Companion.of(context: Context): CurbsideTexts = CurbsideTexts { name, args ->
    val id = context.resources.getIdentifier(name, "string", context.packageName)
    if (id != 0) {
        context.getString(id, *args)
    } else {
        // Resources not merged (a plain JVM or Robolectric without resource processing):
        // the same files, read from the classpath.
        CurbsideTexts.classpathStrings(context.resources.configuration.locales[0].language)(name, args)
    }
}
