package dev.curbside

import dev.curbside.open311.*
import dev.curbside.types.*
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import kotlin.test.assertEquals

/** The sandbox city tests/run starts on loopback. */
object Sandbox {
    val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run, which starts the sandbox")

    /** The sandbox behaving as one stubborn real server (`key_400`, `refuse_500`, ...). */
    fun mode(mode: String) = "${endpoint.substringBefore("/open311/")}/mode/$mode/open311/v2/"

    /** Queues a fault for the next request of `scope` (`post` or `any`). */
    fun fault(fault: String, scope: String = "post") {
        val admin = URI(endpoint).resolve("/_sandbox/faults")
        val request = HttpRequest.newBuilder(admin)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString("fault=$fault&scope=$scope&mode=next"))
            .build()
        val response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, response.statusCode())
    }
}

/** A city profile document for the sandbox (no key in it: keys are given apart). */
fun profile(id: String, endpoint: String = Sandbox.endpoint, extra: String = "") =
    """{"id": "$id", "name": "City of ${id.replaceFirstChar { it.uppercase() }}", "server": {"endpoint": "$endpoint"}$extra}"""

/** Retries fast enough for a test. */
val fast = RetryPolicy(Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofMillis(50), 12u)

/** Opens Curbside on `dir` with the sandbox as city `city` (and any other profiles). */
suspend fun openCurbside(dir: Path, vararg more: String, keys: Map<String, String> = emptyMap()): CurbsideCore =
    CurbsideCore.open(
        CurbsideConfig(
            dataDir = dir.toString(),
            appName = "CurbsideKotlinTests/1.0",
            profiles = listOf(profile("city")) + more,
            apiKeys = mapOf("city" to "sandbox-key") + keys,
            retry = fast,
        ),
    )

/** The edits of a complete pothole report for `city`. */
fun pothole(description: String, city: String = "city", depth: String = "3") = listOf(
    DraftEdit.City(city),
    DraftEdit.Service("pothole"),
    DraftEdit.Location(Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now())),
    DraftEdit.Description(description),
    DraftEdit.Answers(listOf(AttributeAnswer("WHERE", listOf("road")), AttributeAnswer("DEPTH", listOf(depth)))),
)

/** Creates and submits a report. */
suspend fun CurbsideCore.report(edits: List<DraftEdit>): Report = outbox().submit(drafts().create(edits).id)
