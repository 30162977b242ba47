package dev.curbside.sample

/**
 * Stands in for the class the Android Gradle Plugin generates from app/build.gradle.kts (no
 * AGP here): the app's version and its city's key (the tests give theirs through TestApp).
 */
object BuildConfig {
    const val VERSION_NAME = "0.2.0"
    const val CITY_API_KEY = ""
}
