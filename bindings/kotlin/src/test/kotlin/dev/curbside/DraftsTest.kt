package dev.curbside

import dev.curbside.open311.*
import dev.curbside.photo.*
import dev.curbside.types.*
import java.io.File
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The draft scenario of core/tests/drafts.rs, through the generated Kotlin API. */
class DraftsTest {
    @TempDir
    lateinit var dir: Path

    private fun pothole() = DraftFields(
        serviceCode = "pothole",
        location = Location(
            latitude = 38.8895,
            longitude = -77.0353,
            accuracyM = 4.5,
            source = LocationSource.GPS,
            capturedAt = Instant.parse("2026-11-27T08:30:00Z"),
        ),
        description = "Deep pothole in the bike lane",
    )

    private fun open() = CurbsideCore(dir.toString())

    @Test
    fun `drafts survive reopening and can be updated and deleted`() = runBlocking<Unit> {
        val created = open().use { core ->
            val first = core.createDraft(pothole())
            core.createDraft(DraftFields(description = "Street light out"))
            first
        }

        open().use { core ->
            val listed = core.listDrafts()
            assertEquals(2, listed.size)
            assertEquals(created, listed[1], "oldest last, and read back exactly")
            assertEquals("Street light out", listed[0].fields.description)
            assertNull(listed[0].fields.location)

            val changed = pothole().copy(
                description = "Pothole, now two of them",
                location = pothole().location!!.copy(source = LocationSource.MANUAL_PIN, accuracyM = null),
            )
            val updated = core.updateDraft(created.id, changed)
            assertEquals(changed, updated.fields)
            assertEquals(created.createdAt, updated.createdAt)
            assertTrue(updated.updatedAt >= created.updatedAt)
        }

        open().use { core ->
            assertEquals("Pothole, now two of them", core.getDraft(created.id).fields.description)
            core.deleteDraft(created.id)
            assertEquals(1, core.listDrafts().size)
        }
        open().use { core -> assertEquals(1, core.listDrafts().size) }
    }

    @Test
    fun `invalid input names the field and saves nothing`() = runBlocking<Unit> {
        open().use { core ->
            val saved = core.createDraft(pothole())
            val cases = listOf(
                Triple(200.0, 0.0, "location.latitude"),
                Triple(Double.NaN, 0.0, "location.latitude"),
                Triple(0.0, Double.NaN, "location.longitude"),
            )
            for ((lat, lon, field) in cases) {
                val bad = pothole().copy(location = pothole().location!!.copy(latitude = lat, longitude = lon))
                val error = assertFailsWith<ApiException.InvalidInput> { core.createDraft(bad) }
                assertEquals(field, error.field)
                assertFailsWith<ApiException.InvalidInput> { core.updateDraft(saved.id, bad) }
            }
            assertEquals(listOf(saved), core.listDrafts())
        }
    }

    @Test
    fun `unknown ids are not found and malformed ids are invalid`() = runBlocking<Unit> {
        open().use { core ->
            val saved = core.createDraft(pothole())
            core.deleteDraft(saved.id)
            assertFailsWith<ApiException.NotFound> { core.getDraft(saved.id) }
            assertFailsWith<ApiException.NotFound> { core.updateDraft(saved.id, pothole()) }
            assertFailsWith<ApiException.NotFound> { core.deleteDraft(saved.id) }
            val error = assertFailsWith<ApiException.InvalidInput> { core.getDraft("42") }
            assertEquals("id", error.field)
        }
    }

    @Test
    fun `an unusable data directory is a storage error`() {
        val file = File(dir.toFile(), "a-file").apply { writeText("not a directory") }
        val error = assertFailsWith<ApiException.Storage> { CurbsideCore(File(file, "data").path) }
        assertTrue(error.reason.contains("data directory"), error.reason)
    }
}
