package dev.curbside.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import dev.curbside.Outbox

/**
 * Feeds the platform's connectivity to the outbox: the worker stops trying when the network
 * goes and tries at once when it returns (then [back] asks for a background run, too).
 */
class NetworkHint(context: Context, private val outbox: Outbox, private val back: () -> Unit) {
    private val connectivity: ConnectivityManager = context.getSystemService(ConnectivityManager::class.java)!!
    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) = changed(true)
        override fun onLost(network: Network) = changed(online())
        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) =
            changed(capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET))
    }

    /**
     * Starts observing, with the current state first: a network whose capabilities are not
     * known yet counts as there (a wrong "there" costs one attempt; a wrong "gone" would hold
     * every report back until the next change).
     */
    fun start() {
        changed(online())
        connectivity.registerDefaultNetworkCallback(callback)
    }

    /** Whether the default network, if any, has internet (unknown counts as yes). */
    private fun online(): Boolean {
        val network = connectivity.activeNetwork ?: return false
        val capabilities = connectivity.getNetworkCapabilities(network)
        return capabilities?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) != false
    }

    /** Stops observing. */
    fun stop() {
        runCatching { connectivity.unregisterNetworkCallback(callback) }
    }

    private fun changed(available: Boolean) {
        runCatching { outbox.setNetworkAvailable(available) }
        if (available) back()
    }
}
