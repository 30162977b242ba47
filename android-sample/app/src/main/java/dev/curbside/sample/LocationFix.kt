package dev.curbside.sample

import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Handler
import android.os.Looper

/**
 * A fresh position for a report, as field-data apps take one: the device's providers are
 * listened to, each fix's accuracy is shown, and the first fix as accurate as the city asks
 * ([wanted] metres, its `max_accuracy_m`) is taken; after [patience] the best one so far is
 * taken (the core then says if the city finds it too rough). A last known position is used at
 * once only when it is recent and accurate enough: an old one says where the phone was.
 * Listens only for the permission the citizen granted (precise GPS, or the network's
 * approximate position).
 */
class LocationFix(
    private val context: Context,
    private val wanted: Double,
    private val progress: (Location) -> Unit,
    private val done: (Location?) -> Unit,
) {
    private val locator = context.getSystemService(LocationManager::class.java)
    private val handler = Handler(Looper.getMainLooper())
    private var best: Location? = null
    private var listening = false
    private val listener = LocationListener { fix -> offer(fix) }

    /** Starts looking (a recent, accurate last known position ends it at once). */
    fun start() {
        val providers = providers()
        val recent = providers.mapNotNull { runCatching { locator?.getLastKnownLocation(it) }.getOrNull() }
            .filter { System.currentTimeMillis() - it.time <= RECENT_MS }
            .minByOrNull { if (it.hasAccuracy()) it.accuracy else Float.MAX_VALUE }
        if (recent != null && recent.hasAccuracy() && recent.accuracy <= wanted) return finish(recent)
        listening = true
        for (provider in providers) {
            runCatching { locator?.requestLocationUpdates(provider, 0L, 0f, listener, Looper.getMainLooper()) }
        }
        handler.postDelayed({ finish(best) }, PATIENCE_MS)
    }

    /** Stops looking (the screen goes); nothing is reported. */
    fun stop() {
        handler.removeCallbacksAndMessages(null)
        if (listening) locator?.removeUpdates(listener)
        listening = false
    }

    private fun offer(fix: Location) {
        if (!listening) return
        val previous = best
        if (previous == null || !previous.hasAccuracy() || (fix.hasAccuracy() && fix.accuracy < previous.accuracy)) best = fix
        if (fix.hasAccuracy() && fix.accuracy <= wanted) finish(fix) else progress(fix)
    }

    private fun finish(fix: Location?) {
        stop()
        done(fix)
    }

    /** Both; one the permission does not cover (GPS with an approximate grant) refuses, and is left. */
    private fun providers(): List<String> = listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)

    private companion object {
        /** A last known position younger than this is where the phone still is. */
        const val RECENT_MS = 2 * 60 * 1000L
        /** How long a better fix is waited for. */
        const val PATIENCE_MS = 30 * 1000L
    }
}
