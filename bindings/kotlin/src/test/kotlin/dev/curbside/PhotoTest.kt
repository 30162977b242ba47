package dev.curbside

import dev.curbside.types.*
import java.io.File
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * Photos on drafts through the generated Kotlin API. tests/run writes the camera file
 * (`curbside sample-photo`: 1600x1200 stored sideways, EXIF orientation 6, GPS 38.9,-77.03).
 */
class PhotoTest {
    @TempDir
    lateinit var dir: Path

    private val camera: String = System.getenv("CURBSIDE_SAMPLE_PHOTO")
        ?: error("CURBSIDE_SAMPLE_PHOTO is not set: run these tests through tests/run")

    private suspend fun open() = CurbsideCore.open(CurbsideConfig(dataDir = dir.toString()))

    @Test
    fun `a camera photo is added upright, stripped, with its position offered`() = runBlocking<Unit> {
        open().use { core ->
            val draft = core.drafts().create(listOf(DraftEdit.Service("pothole")))
            val added = core.photos().add(draft.id, camera)
            assertEquals(1200u, added.width, "turned upright")
            assertEquals(1600u, added.height)
            assertTrue(added.bytes > 0u && added.bytes <= 800_000u)
            val candidate = added.locationCandidate!!
            assertEquals(LocationSource.PHOTO_EXIF, candidate.source)
            assertEquals(38.9, candidate.latitude, 1e-6)
            assertEquals(-77.03, candidate.longitude, 1e-6)
            assertEquals(listOf(added.path), added.draft.fields.photos)
            val bytes = File(added.path).readBytes()
            assertFalse(String(bytes, Charsets.ISO_8859_1).contains("Exif"), "no EXIF in the upload")

            val without = core.photos().remove(draft.id, added.path)
            assertTrue(without.fields.photos.isEmpty())
            assertFalse(File(added.path).exists())
        }
    }

    @Test
    fun `a file that is not a photo is refused and the draft is unchanged`() = runBlocking<Unit> {
        open().use { core ->
            val draft = core.drafts().create(listOf(DraftEdit.Description("with a bad photo")))
            val notes = dir.resolve("notes.txt").toFile().apply { writeText("not a photo") }
            val error = assertFailsWith<ApiException.InvalidInput> { core.photos().add(draft.id, notes.path) }
            assertEquals("photo", error.field)
            assertTrue(core.drafts().get(draft.id).fields.photos.isEmpty())
            assertFailsWith<ApiException.InvalidInput> { core.photos().remove(draft.id, notes.path) }
        }
    }
}
