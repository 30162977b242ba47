package dev.curbside

import dev.curbside.readme.reportAPothole
import dev.curbside.types.*
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The README's Kotlin example (written out by tests/run) runs as documented. */
class ReadmeTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `the README's example reports a pothole`() = runBlocking<Unit> {
        val report = reportAPothole(dir.toString(), profile("springfield"), "sandbox-key")
        assertEquals("pothole", report.serviceCode)
        assertEquals("Deep pothole", report.description)
    }
}
