package dev.curbside.sample

import dev.curbside.android.Curbside
import dev.curbside.android.SyncWorker
import dev.curbside.types.RetryPolicy
import kotlinx.coroutines.launch
import java.time.Duration

/**
 * The sample app pointed at the sandbox city (tests/run starts it), with fast retries.
 * WorkManager itself cannot start under Robolectric here (its resources, such as
 * `androidx.work.R.bool`, come from the Android Gradle Plugin's resource merging), so the
 * background runs it would make are made in-process: each request runs the worker's job,
 * [Curbside.sync], on a background thread, and is counted.
 */
class TestApp : SampleApp() {
    /** Background runs asked for so far. */
    val backgroundRuns = java.util.concurrent.atomic.AtomicInteger()

    override fun background() = Curbside.BackgroundSync {
        backgroundRuns.incrementAndGet()
        kotlinx.coroutines.GlobalScope.launch(kotlinx.coroutines.Dispatchers.IO) { runCatching { Curbside.sync(SyncWorker.BUDGET) } }
    }

    private val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run")

    override fun cityProfile(): String = run {
        // The shipped profile, with the sandbox's endpoint.
        javaClass.getResource("/city.json")!!.readText()
            .replace("https://311.bikeville.example/open311/v2/", endpoint)
    }

    override fun apiKey() = "sandbox-key"

    override fun config(dataDir: String) = super.config(dataDir).copy(
        retry = RetryPolicy(Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofMillis(50), 12u),
    )
}
