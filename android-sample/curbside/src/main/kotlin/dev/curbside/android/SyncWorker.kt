package dev.curbside.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequest
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import dev.curbside.ApiException
import java.time.Duration

/**
 * Sends submitted reports in the background with WorkManager: enqueued on submit and when
 * connectivity returns, run only with a network, retried with WorkManager's backoff while
 * reports still wait. Each run stays within WorkManager's 10-minute window.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val summary = try {
            Curbside.sync(BUDGET)
        } catch (e: ApiException) {
            return Result.retry()
        }
        return if (summary.waiting > 0u) Result.retry() else Result.success()
    }

    companion object {
        /** A little less than the 10 minutes WorkManager gives a worker. */
        val BUDGET: Duration = Duration.ofMinutes(9)

        /** The one unique work name: enqueuing again while one is pending changes nothing. */
        const val NAME = "curbside-sync"

        /** Asks WorkManager to send what waits, as soon as a network is there. */
        fun enqueue(context: Context) {
            val request = OneTimeWorkRequest.Builder(SyncWorker::class.java)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, Duration.ofSeconds(30))
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, ExistingWorkPolicy.KEEP, request)
        }
    }
}
