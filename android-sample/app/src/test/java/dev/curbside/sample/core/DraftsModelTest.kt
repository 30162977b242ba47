package dev.curbside.sample.core

import dev.curbside.CurbsideConfig
import dev.curbside.CurbsideCore
import dev.curbside.types.DraftEdit
import dev.curbside.types.Location
import dev.curbside.types.LocationSource
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class DraftsModelTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `the screen shows what is stored and explains refusals`() = runBlocking<Unit> {
        CurbsideCore.open(CurbsideConfig(dataDir = dir.toString())).use { core ->
            val model = DraftsModel(core.drafts())
            model.save(null, listOf(DraftEdit.Service("graffiti"), DraftEdit.Description("Tag on the bridge")))
            assertEquals(listOf("Tag on the bridge"), model.state.value.drafts.map { it.fields.description })
            assertNull(model.state.value.error)

            val bad = DraftEdit.Location(Location(91.0, 0.0, null, LocationSource.MANUAL_PIN, Instant.now()))
            model.save(null, listOf(bad))
            assertEquals("location.latitude", model.state.value.fieldInError)
            assertEquals(1, model.state.value.drafts.size, "the refused draft was not saved")

            val id = model.state.value.drafts.single().id
            model.delete(id)
            assertEquals(emptyList(), model.state.value.drafts)
            model.delete(id)
            assertEquals("This draft no longer exists.", model.state.value.error)
        }
    }
}
