package dev.curbside

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/**
 * The Open311 client through the generated Kotlin API, against the sandbox server that
 * tests/run starts on loopback (its endpoint in CURBSIDE_SANDBOX_URL).
 */
class Open311Test {
    private val endpoint: String = System.getenv("CURBSIDE_SANDBOX_URL")
        ?: error("CURBSIDE_SANDBOX_URL is not set: run these tests through tests/run, which starts the sandbox")

    private fun client(format: Format = Format.JSON, key: String = "sandbox-key", url: String = endpoint) =
        Open311Client(ServerConfig(endpoint = url, format = format, apiKey = key, appName = "KotlinTests/1.0"))

    private fun pothole(vararg hazards: String) = NewRequest(
        serviceCode = "pothole",
        lat = 38.8893,
        long = -77.0502,
        description = "Pothole reported from Kotlin",
        attributes = listOf(
            AttributeAnswer("WHERE", listOf("road")),
            AttributeAnswer("DEPTH", listOf("9")),
            AttributeAnswer("HAZARDS", hazards.toList(), multiple = true),
        ),
    )

    @Test
    fun `services and a definition to build a form from, in JSON and XML`() = runBlocking<Unit> {
        val services = client().services()
        assertEquals(services, client(Format.XML).services())
        assertEquals(ServiceType.BATCH, services.single { it.code == "streetlight" }.kind)

        val form = client(Format.XML).serviceDefinition("pothole")
        assertEquals(Datatype.entries.toSet(), form.attributes.map { it.datatype }.toSet())
        assertFalse(form.attributes.first().variable, "the informational text comes first")
        val where = form.attributes.single { it.code == "WHERE" }
        assertTrue(where.required)
        assertEquals(listOf("road", "bike", "sidewalk"), where.values.map { it.key })
    }

    @Test
    fun `submit, then find the request by id`() = runBlocking<Unit> {
        val created = client().submit(pothole("water", "glass"))
        val id = (created as Submission.Created).id
        val found = client(Format.XML).request(id)
        assertEquals("Pothole reported from Kotlin", found.description)
        assertEquals(38.8893, found.lat)
        val page = client().requests(RequestQuery(ids = listOf(id), extensions = true))
        assertEquals(listOf(id), page.requests.map { it.id })
        assertEquals("opened", page.requests.single().notes.first().kind)
    }

    @Test
    fun `batch services give a token that resolves to an id`() = runBlocking<Unit> {
        val queued = client().submit(NewRequest(serviceCode = "streetlight", addressString = "5th and Main"))
        val token = (queued as Submission.Queued).token
        assertNull(client().resolveToken(token), "still processing on the first poll")
        assertNotNull(client().resolveToken(token))
    }

    @Test
    fun `refusals carry what the user or app can act on`() = runBlocking<Unit> {
        val rejected = assertFailsWith<ApiException.Rejected> {
            client().submit(NewRequest(serviceCode = "pothole", lat = 38.9, long = -77.0))
        }
        assertTrue(rejected.messages.any { it.description == "attribute[WHERE] is required" }, "${rejected.messages}")
        assertFailsWith<ApiException.Unauthorized> { client(key = "wrong").submit(pothole()) }
        assertFailsWith<ApiException.NotFound> { client().request("no-such-id") }
        val insecure = assertFailsWith<ApiException.InvalidInput> {
            Open311Client(ServerConfig(endpoint = "http://311.example.gov/open311/v2/"))
        }
        assertEquals("server", insecure.field)
    }

    @Test
    fun `network faults say whether to retry or to check first`() = runBlocking<Unit> {
        val down = endpoint.replace("/open311/", "/fault/503/open311/")
        assertFailsWith<ApiException.Temporary> { client(url = down).services() }
        val lost = endpoint.replace("/open311/", "/fault/commit_then_drop/open311/")
        assertFailsWith<ApiException.MaybeReceived> { client(url = lost).submit(pothole()) }
    }
}
