package dev.curbside.sample

import dev.curbside.types.RetryPolicy
import java.time.Duration

/** The sample app pointed at the sandbox city (tests/run starts it), with fast retries. */
class TestApp : SampleApp() {
    private val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run")

    /** The shipped profile (the app's assets), with the sandbox's endpoint, as [profile] has it. */
    override fun cityProfile(): String =
        profile(super.cityProfile().replace("https://311.bikeville.example/open311/v2/", endpoint))

    override fun apiKey() = key

    override fun config(dataDir: String) = super.config(dataDir).copy(
        retry = RetryPolicy(Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofMillis(50), 12u),
    )

    companion object {
        /** What the next opening reads as the city's profile: the shipped one unless a test changes it. */
        @Volatile var profile: (String) -> String = { it }

        /** The city's key the next opening gives: the sandbox's, unless a test changes it. */
        @Volatile var key: String = "sandbox-key"
    }
}
