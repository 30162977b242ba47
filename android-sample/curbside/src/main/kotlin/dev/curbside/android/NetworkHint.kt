package dev.curbside.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import dev.curbside.Outbox

/**
 * Feeds the platform's connectivity to the outbox: the worker stops trying when the network
 * goes and tries at once when it returns (then WorkManager is asked to send, too).
 */
class NetworkHint(private val context: Context, private val outbox: Outbox) {
    private val connectivity: ConnectivityManager = context.getSystemService(ConnectivityManager::class.java)!!
    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) = changed(true)
        override fun onLost(network: Network) = changed(connectivity.activeNetwork != null)
        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) =
            changed(capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET))
    }

    /** Starts observing, with the current state first. */
    fun start() {
        val now = connectivity.activeNetwork?.let { connectivity.getNetworkCapabilities(it) }
        changed(now?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true)
        connectivity.registerDefaultNetworkCallback(callback)
    }

    /** Stops observing. */
    fun stop() {
        runCatching { connectivity.unregisterNetworkCallback(callback) }
    }

    private fun changed(available: Boolean) {
        runCatching { outbox.setNetworkAvailable(available) }
        if (available) SyncWorker.enqueue(context)
    }
}
