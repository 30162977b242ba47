package dev.curbside

import dev.curbside.open311.*
import dev.curbside.photo.*
import dev.curbside.types.*
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import java.util.concurrent.Executors
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** City profiles, the catalog, validation and nearby requests through the Kotlin API. */
class CityTest {
    @TempDir
    lateinit var dir: Path

    private val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run")

    private fun profile(endpoint: String) = """
        {"id": "springfield", "name": "Springfield",
         "server": {"endpoint": "$endpoint", "api_key": "sandbox-key"},
         "required_contact": ["email"], "max_accuracy_m": 50,
         "service_area": {"type": "Polygon", "coordinates":
           [[[-77.2, 38.8], [-76.9, 38.8], [-76.9, 39.0], [-77.2, 39.0], [-77.2, 38.8]]]}}
    """.trimIndent()

    /** Another citizen's phone reports a problem through its own Curbside, and it is sent. */
    private suspend fun neighbourReports(service: String, latitude: Double, longitude: Double, description: String) {
        CurbsideCore(dir.resolve("neighbour").toString()).use { phone ->
            phone.addProfile(profile(endpoint))
            val draft = phone.createDraft(DraftFields(
                serviceCode = service, description = description, contact = Contact(email = "neighbour@example.org"),
                location = Location(latitude, longitude, 5.0, LocationSource.GPS, Instant.now()),
            ))
            val report = phone.submit(draft.id, "springfield")
            // Its worker may send it before (or while) this sync runs: wait for it to be sent.
            withTimeout(10_000) {
                while (phone.reports().single { it.id == report.id }.state != ReportState.Sent) {
                    phone.syncNow()
                    delay(100)
                }
            }
        }
    }

    /**
     * Every call's work runs on the SDK's own threads: called from a single-threaded
     * dispatcher (an app's main thread), no step of the outbox and no exchange with a server
     * happens on that thread (they used to, and a slow SQLite write froze the UI).
     */
    @Test
    fun `no call does its work on the caller's thread`() = runBlocking<Unit> {
        val threads = java.util.concurrent.ConcurrentLinkedQueue<String>()
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                threads.add("$target ${Thread.currentThread().name}")
            }
        }, LogLevel.DEBUG)
        val ui = Executors.newSingleThreadExecutor { Thread(it, "ui-thread") }.asCoroutineDispatcher()
        try {
            withContext(ui) {
                CurbsideCore(dir.toString()).use { core ->
                    core.setNetworkAvailable(false)
                    core.addProfile(profile(endpoint))
                    core.catalogServices("springfield", true)
                    core.nearbyRequests("springfield", 38.8893, -77.0502, 50.0, null, false)
                    val draft = core.createDraft(DraftFields(
                        serviceCode = "graffiti", description = "from the UI thread",
                        contact = Contact(email = "ui@example.org"),
                        location = Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now()),
                    ))
                    core.submit(draft.id, "springfield")
                    core.syncNow() // the network is back: the run's first steps are this call's
                }
            }
        } finally {
            ui.close()
        }
        assertTrue(threads.any { it.startsWith("curbside::outbox") }, "the outbox's steps were logged: $threads")
        assertTrue(threads.any { it.startsWith("curbside::http") }, "the exchanges were logged: $threads")
        assertTrue(threads.none { " ui-thread" in it }, "work ran on the caller's thread: $threads")
    }

    @Test
    fun `a profile drives the catalog, the form and its validation`() = runBlocking<Unit> {
        CurbsideCore(dir.toString()).use { core ->
            core.setNetworkAvailable(false)
            val city = core.addProfile(profile(endpoint))
            assertEquals("Springfield", city.name)
            assertTrue(city.hasServiceArea)
            assertEquals(listOf("email"), city.requiredContact)

            val catalog = core.catalogServices("springfield", false)
            assertFalse(catalog.stale)
            assertEquals(4, catalog.services.size)

            val draft = core.createDraft(DraftFields(description = "From the Kotlin city test"))
            val form = core.serviceForm(draft.id, "springfield", "pothole")
            assertEquals("springfield", form.draft.fields.profileId)
            assertEquals(Datatype.entries.toSet(), form.definition.attributes.map { it.datatype }.toSet())

            val problems = core.validateDraft(draft.id).map { it.field }.toSet()
            assertEquals(setOf("location", "attributes.WHERE", "attributes.DEPTH", "contact.email"), problems)
            val refused = assertFailsWith<ApiException.InvalidDraft> { core.submit(draft.id, "springfield") }
            assertEquals(problems, refused.errors.map { it.field }.toSet())

            val ready = form.draft.fields.copy(
                location = Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now()),
                attributes = listOf(AttributeAnswer("WHERE", listOf("road")), AttributeAnswer("DEPTH", listOf("4"))),
                contact = Contact(email = "ada@example.org"),
            )
            core.updateDraft(draft.id, ready)
            assertEquals(emptyList(), core.validateDraft(draft.id))
        }
    }

    @Test
    fun `a malformed profile names its field`() = runBlocking<Unit> {
        CurbsideCore(dir.toString()).use { core ->
            val error = assertFailsWith<ApiException.InvalidInput> { core.addProfile(profile("http://311.remote.example/")) }
            assertEquals("profile.server.endpoint", error.field)
        }
    }

    @Test
    fun `nearby requests come nearest first and as GeoJSON`() = runBlocking<Unit> {
        CurbsideCore(dir.toString()).use { core ->
            core.addProfile(profile(endpoint))
            neighbourReports("graffiti", 38.8894, -77.0502, "Kotlin nearby")
            val nearby = core.nearbyRequests("springfield", 38.8893, -77.0502, 50.0, null, false)
            assertTrue(nearby.requests.isNotEmpty())
            assertEquals(nearby.requests.map { it.distanceM }.sorted(), nearby.requests.map { it.distanceM })
            assertTrue(nearby.requests.all { it.distanceM <= 50.0 })
            val viewport = core.requestsInBox("springfield", 38.8890, -77.0505, 38.8897, -77.0499)
            assertTrue(viewport.any { it.description == "Kotlin nearby" })
            val geojson = core.requestsGeojson("springfield", 38.8893, -77.0502, 50.0)
            assertTrue(geojson.contains("\"FeatureCollection\""), geojson)
        }
    }
}
