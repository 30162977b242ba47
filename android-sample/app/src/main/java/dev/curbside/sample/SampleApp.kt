package dev.curbside.sample

import android.app.Application
import org.json.JSONObject
import androidx.work.Configuration
import dev.curbside.CurbsideConfig
import dev.curbside.android.Curbside

/**
 * The one place Curbside is opened: once per process, off the main thread. The city is data,
 * not code: `assets/city.json` is its profile (swap it to white-label the app), and its key
 * comes from the build config (`cityApiKey` in `gradle.properties` or the CI's secrets).
 */
open class SampleApp : Application(), Configuration.Provider {
    override fun onCreate() {
        super.onCreate()
        open()
    }

    /** Opens Curbside (again, after a failed opening: the first screen's "Try again"). */
    fun open() = Curbside.initialize(this, ::config)

    /**
     * The city this app is for: the id in its profile, written nowhere else (set when Curbside
     * opens, so screens read it once `Curbside.core()` has answered).
     */
    @Volatile var cityId: String = ""
        private set

    /** What Curbside is opened with (read off the main thread). */
    open fun config(dataDir: String): CurbsideConfig {
        val profile = cityProfile()
        // A profile that does not parse is refused by the core, with its reason.
        cityId = runCatching { JSONObject(profile).getString("id") }.getOrDefault("")
        return CurbsideConfig(
            dataDir = dataDir,
            appName = "CurbsideSample/${BuildConfig.VERSION_NAME}",
            profiles = listOf(profile),
            apiKeys = mapOf(cityId to apiKey()),
        )
    }

    /** The city's key for this app, from the build config (never written to disk). */
    open fun apiKey(): String = BuildConfig.CITY_API_KEY

    /** The city's profile document (the white-label configuration). */
    open fun cityProfile(): String = assets.open("city.json").bufferedReader().use { it.readText() }

    /** WorkManager is set up on demand, with its defaults. */
    override val workManagerConfiguration: Configuration
        get() = Configuration.Builder().build()
}
