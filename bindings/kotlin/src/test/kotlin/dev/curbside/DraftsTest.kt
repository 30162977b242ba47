package dev.curbside

import dev.curbside.open311.*
import dev.curbside.types.*
import java.io.File
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The draft scenario of core/tests/drafts.rs, through the generated Kotlin API. */
class DraftsTest {
    @TempDir
    lateinit var dir: Path

    private val here = Location(38.8895, -77.0353, 4.5, LocationSource.GPS, Instant.parse("2026-11-27T08:30:00Z"))

    private suspend fun open() = CurbsideCore.open(CurbsideConfig(dataDir = dir.toString()))

    @Test
    fun `drafts survive reopening and are edited field by field`() = runBlocking<Unit> {
        val core = open()
        val drafts = core.drafts()
        val first = drafts.create(listOf(DraftEdit.Service("pothole"), DraftEdit.Location(here)))
        drafts.create(listOf(DraftEdit.Description("Street light out")))
        core.shutdown()

        open().use { again ->
            val listed = again.drafts().list()
            assertEquals(2, listed.size)
            assertEquals(first, listed[1], "oldest last, and read back exactly")
            assertEquals("Street light out", listed[0].fields.description)
            assertNull(listed[0].fields.location)

            val pinned = here.copy(source = LocationSource.MANUAL_PIN, accuracyM = null)
            val edited = again.drafts().edit(first.id, listOf(DraftEdit.Description("Two potholes"), DraftEdit.Location(pinned)))
            assertEquals("pothole", edited.fields.serviceCode, "a field not edited stays")
            assertEquals(pinned, edited.fields.location)
            assertEquals(first.createdAt, edited.createdAt)
            assertTrue(edited.updatedAt >= first.updatedAt)
            assertEquals("Two potholes", again.drafts().get(first.id).fields.description)
            again.drafts().delete(first.id)
            assertEquals(1, again.drafts().list().size)
        }
    }

    @Test
    fun `invalid input names the field and saves nothing`() = runBlocking<Unit> {
        open().use { core ->
            val saved = core.drafts().create(listOf(DraftEdit.Location(here)))
            val cases = listOf(
                Triple(200.0, 0.0, "location.latitude"),
                Triple(Double.NaN, 0.0, "location.latitude"),
                Triple(0.0, Double.NaN, "location.longitude"),
            )
            for ((lat, lon, field) in cases) {
                val bad = DraftEdit.Location(here.copy(latitude = lat, longitude = lon))
                val error = assertFailsWith<ApiException.InvalidInput> { core.drafts().create(listOf(bad)) }
                assertEquals(field, error.field)
                assertFailsWith<ApiException.InvalidInput> { core.drafts().edit(saved.id, listOf(bad)) }
            }
            assertEquals(listOf(saved), core.drafts().list())
        }
    }

    @Test
    fun `unknown ids are not found and malformed ids are refused`() = runBlocking<Unit> {
        open().use { core ->
            val saved = core.drafts().create(emptyList())
            core.drafts().delete(saved.id)
            assertFailsWith<ApiException.NotFound> { core.drafts().get(saved.id) }
            assertFailsWith<ApiException.NotFound> { core.drafts().edit(saved.id, listOf(DraftEdit.Description("x"))) }
            assertFailsWith<ApiException.NotFound> { core.drafts().delete(saved.id) }
            // A typed id refuses what is not one before any call is made.
            assertFailsWith<IllegalArgumentException> { DraftId("42") }
            assertEquals(saved.id, DraftId(saved.id.value), "an id read back from the app's storage")
        }
    }

    @Test
    fun `an autosave while a photo is being added loses nothing`() = runBlocking<Unit> {
        val camera = System.getenv("CURBSIDE_SAMPLE_PHOTO") ?: error("CURBSIDE_SAMPLE_PHOTO is not set: run through tests/run")
        open().use { core ->
            val draft = core.drafts().create(listOf(DraftEdit.Service("pothole")))
            val adding = async { core.photos().add(draft.id, camera) }
            // The form autosaves on every keystroke while the pipeline runs.
            for (text in listOf("D", "De", "Dee", "Deep", "Deep pothole")) {
                core.drafts().edit(draft.id, listOf(DraftEdit.Description(text)))
            }
            val added = adding.await()
            core.drafts().edit(draft.id, listOf(DraftEdit.Description("Deep pothole!")))
            val saved = core.drafts().get(draft.id)
            assertEquals(listOf(added.path), saved.fields.photos, "the photo survived every autosave")
            assertEquals("Deep pothole!", saved.fields.description, "and every keystroke was saved")
        }
    }

    @Test
    fun `an unusable data directory is a storage error`() = runBlocking<Unit> {
        val file = File(dir.toFile(), "a-file").apply { writeText("not a directory") }
        val error = assertFailsWith<ApiException.Storage> {
            CurbsideCore.open(CurbsideConfig(dataDir = File(file, "data").path))
        }
        assertTrue(error.reason.contains("data directory"), error.reason)
        assertEquals(ErrorCode.DATA_DIR, error.code, "not a full disk, not a newer database")
    }
}
