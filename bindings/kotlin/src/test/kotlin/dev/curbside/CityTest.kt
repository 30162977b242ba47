package dev.curbside

import dev.curbside.open311.*
import dev.curbside.types.*
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.Executors
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.delay
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** City profiles, the catalog, validation and nearby requests through the Kotlin API. */
class CityTest {
    @TempDir
    lateinit var dir: Path

    private val springfield = profile(
        "springfield",
        extra = """, "required_contact": ["email"], "max_accuracy_m": 50,
         "service_area": {"type": "Polygon", "coordinates":
           [[[-77.2, 38.8], [-76.9, 38.8], [-76.9, 39.0], [-77.2, 39.0], [-77.2, 38.8]]]}""",
    )

    private suspend fun open(at: Path = dir) =
        openCurbside(at, springfield, keys = mapOf("springfield" to "sandbox-key"))

    private val here get() = Location(38.8893, -77.0502, 5.0, LocationSource.GPS, Instant.now())

    /** Another citizen's phone reports a problem through its own Curbside, and it is sent. */
    private suspend fun neighbourReports(service: String, latitude: Double, longitude: Double, description: String) {
        open(dir.resolve("neighbour")).use { phone ->
            val report = phone.report(listOf(
                DraftEdit.City("springfield"), DraftEdit.Service(service), DraftEdit.Description(description),
                DraftEdit.Contact(Contact(email = "neighbour@example.org")),
                DraftEdit.Location(Location(latitude, longitude, 5.0, LocationSource.GPS, Instant.now())),
            ))
            // Its worker may send it before (or while) this sync runs: wait for it to be sent.
            withTimeout(10_000) {
                while (phone.outbox().reports().single { it.id == report.id }.state != ReportState.Sent) {
                    phone.outbox().syncNow()
                    delay(100)
                }
            }
        }
    }

    /**
     * Every call's work runs on the SDK's own threads: called from a single-threaded
     * dispatcher (an app's main thread), no step of the outbox and no exchange with a server
     * happens on that thread, and while the city's server stalls the thread stays free.
     */
    @Test
    fun `no call does its work on the caller's thread, and a stalled server never freezes it`() = runBlocking<Unit> {
        val threads = java.util.concurrent.ConcurrentLinkedQueue<String>()
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                threads.add("$target ${Thread.currentThread().name}")
            }
        }, LogLevel.DEBUG)
        val ui = Executors.newSingleThreadExecutor { Thread(it, "ui-thread") }.asCoroutineDispatcher()
        try {
            withContext(ui) {
                open().use { core ->
                    core.outbox().setNetworkAvailable(false)
                    core.cities().services("springfield", true)
                    core.cities().nearby(NearbyQuery("springfield", 38.8893, -77.0502, 50.0))
                    core.report(listOf(
                        DraftEdit.City("springfield"), DraftEdit.Service("graffiti"),
                        DraftEdit.Description("from the UI thread"),
                        DraftEdit.Contact(Contact(email = "ui@example.org")), DraftEdit.Location(here),
                    ))
                    core.outbox().syncNow() // the network is back: the run's first steps are this call's

                    // The city's server stalls for 2 s. The UI thread is free meanwhile: a job
                    // queued on it after the call runs before the answer comes (were the call
                    // to block the thread, the job could only run after it).
                    Sandbox.fault("stall:2000", scope = "any")
                    val started = System.nanoTime()
                    val answer = async { core.cities().services("springfield", true) }
                    val ranWhileStalled = async { answer.isActive }.await()
                    answer.await()
                    val waited = (System.nanoTime() - started) / 1_000_000
                    assertTrue(waited >= 1_500, "the server stalled ($waited ms)")
                    assertTrue(ranWhileStalled, "the UI thread was blocked while the server stalled")
                    core.shutdown()
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
        open().use { core ->
            core.outbox().setNetworkAvailable(false)
            val city = core.cities().profiles().single { it.id == "springfield" }
            assertEquals("City of Springfield", city.name)
            assertTrue(city.hasServiceArea)
            assertEquals(listOf("email"), city.requiredContact)

            val catalog = core.cities().services("springfield", false)
            assertFalse(catalog.stale)
            assertEquals(5, catalog.services.size)
            val definition = core.cities().definition("springfield", "pothole", false).definition

            val draft = core.drafts().create(listOf(DraftEdit.Description("From the Kotlin city test")))
            val form = core.cities().serviceForm(draft.id, "springfield", "pothole")
            assertEquals("springfield", form.draft.fields.profileId)
            assertEquals(definition, form.definition)
            assertEquals(Datatype.entries.toSet(), form.definition.attributes.map { it.datatype }.toSet())

            val problems = core.drafts().validate(draft.id)
            assertEquals(setOf("location", "attributes.WHERE", "attributes.DEPTH", "contact.email"), problems.map { it.field }.toSet())
            assertEquals(FieldIssue.ContactRequired("City of Springfield"), problems.single { it.field == "contact.email" }.issue)
            val refused = assertFailsWith<ApiException.NotReady> { core.outbox().submit(draft.id) }
            assertEquals(problems, refused.issues)

            core.drafts().edit(draft.id, listOf(
                DraftEdit.Location(here),
                DraftEdit.Answers(listOf(AttributeAnswer("WHERE", listOf("road")), AttributeAnswer("DEPTH", listOf("4")))),
                DraftEdit.Contact(Contact(email = "ada@example.org")),
            ))
            assertEquals(emptyList(), core.drafts().validate(draft.id))
        }
    }

    @Test
    fun `a malformed profile names its field`() = runBlocking<Unit> {
        val error = assertFailsWith<ApiException.InvalidInput> {
            openCurbside(dir, profile("remote", "http://311.remote.example/"))
        }
        assertEquals("profile.server.endpoint", error.field)
    }

    @Test
    fun `nearby requests come nearest first, in a viewport and as GeoJSON`() = runBlocking<Unit> {
        open().use { core ->
            neighbourReports("graffiti", 38.8894, -77.0502, "Kotlin nearby")
            val query = NearbyQuery("springfield", 38.8893, -77.0502, 50.0)
            val nearby = core.cities().nearby(query)
            assertTrue(nearby.requests.isNotEmpty())
            assertEquals(nearby.requests.map { it.distanceM }.sorted(), nearby.requests.map { it.distanceM })
            assertTrue(nearby.requests.all { it.distanceM <= 50.0 })
            assertFalse(nearby.stale)
            assertFalse(nearby.coverage.partial)
            assertTrue(nearby.coverage.queries >= 1u, "${nearby.coverage}")
            val viewport = core.cities().inBox("springfield", MapBox(38.8890, -77.0505, 38.8897, -77.0499))
            assertTrue(viewport.requests.any { it.description == "Kotlin nearby" })
            val geojson = core.cities().nearbyGeojson(query)
            assertTrue(geojson.contains("\"FeatureCollection\""), geojson)
            assertTrue(geojson.contains("\"coverage\""), geojson)
        }
    }
}
