package dev.curbside

import dev.curbside.open311.ServerMessage
import dev.curbside.types.*
import java.nio.file.Path
import java.time.Duration
import kotlin.test.assertEquals
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The codes in words: every code has an English and a Finnish text, and a real refusal reads in Finnish. */
class TextsTest {
    @TempDir
    lateinit var dir: Path

    private val english = CurbsideTexts.fromResources("en")
    private val finnish = CurbsideTexts.fromResources("fi")

    @Test
    fun `a refused report's attention reason renders in Finnish`() = runBlocking<Unit> {
        openCurbside(dir, profile("strict", Sandbox.mode("key_400")), keys = mapOf("strict" to "revoked")).use { core ->
            core.outbox().setNetworkAvailable(false)
            val report = core.report(pothole("Kotlin in Finnish", city = "strict"))
            core.outbox().runPending(Duration.ofSeconds(10))
            val state = core.outbox().reports().single { it.id == report.id }.state as ReportState.NeedsAttention
            assertEquals(
                "Kaupungin palvelin hylkäsi sovelluksen avaimen tai alueen. Tarkista sovelluksen asetukset.",
                finnish.attention(state.attention),
            )
            assertTrue(english.attention(state.attention).startsWith("The city's server refused"))
            // The last failure is a code, worded here; its detail is for support.
            val error = core.outbox().report(report.id).report.lastError!!
            assertEquals(LastErrorCode.SETTINGS, error.code)
            assertEquals("Sovelluksen asetukset tälle kaupungille eivät toimi.", finnish.lastError(error))
            val history = core.outbox().report(report.id).history.map { finnish.history(it.event) }
            assertEquals("Tallennettu laitteelle, odottaa lähetystä", history.first())
        }
    }

    @Test
    fun `every code has its own text in both languages, with its arguments`() {
        val attentions = AttentionKind.entries.map { kind ->
            Attention(kind, AttentionAction.CHECK_SETTINGS, 2u, emptyList<ServerMessage>())
        }
        val issues = listOf(
            FieldIssue.ChooseService, FieldIssue.PlaceOrAddress, FieldIssue.NullIsland,
            FieldIssue.NotPreciseEnough(120.4, 50.0), FieldIssue.OutsideServiceArea("Espoo", "Helsinki", "helsinki"),
            FieldIssue.OutsideServiceArea("Espoo", null, null), FieldIssue.ContactRequired("Espoo"),
            FieldIssue.NotAnEmail, FieldIssue.NotAPhone, FieldIssue.NotAQuestion, FieldIssue.AnswerRequired("Syvyys?"),
            FieldIssue.ChooseOne, FieldIssue.ChooseFromList, FieldIssue.EnterNumber, FieldIssue.EnterDateTime,
            FieldIssue.EnterOneLine, FieldIssue.EnterOneAnswer,
        )
        val events = listOf(
            HistoryEvent.Submitted, HistoryEvent.PhotosNotSent, HistoryEvent.Recovered, HistoryEvent.RetryLater(null),
            HistoryEvent.RetryLater(99_999uL), HistoryEvent.Received("H-7"), HistoryEvent.Received(null),
            HistoryEvent.QueuedByCity, HistoryEvent.NoAnswer, HistoryEvent.ServerUnavailable(503u),
            HistoryEvent.ServerError(500u, emptyList()), HistoryEvent.SaidDuplicate, HistoryEvent.FoundOnServer("H-7"),
            HistoryEvent.NotOnServer, HistoryEvent.NotFoundYet, HistoryEvent.AnsweredLate("H-7"), HistoryEvent.FollowedAfterClosing(30u), HistoryEvent.Withdrawn, HistoryEvent.ConfirmedByUser("H-7"), HistoryEvent.IdFromToken("H-7"), HistoryEvent.TokenUnreadable,
            HistoryEvent.TokenNeverResolved, HistoryEvent.Cancelled, HistoryEvent.RetriedByUser,
            HistoryEvent.SettingsChanged, HistoryEvent.StatusChanged("closed", null), HistoryEvent.StatusChanged("closed", "Korjattu"),
        )
        val errors = LastErrorCode.entries.map { LastError(it, 502u, "detail") }
        val en = attentions.map(english::attention) + issues.map(english::issue) + events.map(english::history) +
            errors.map(english::lastError)
        val fi = attentions.map(finnish::attention) + issues.map(finnish::issue) + events.map(finnish::history) +
            errors.map(finnish::lastError)
        assertEquals(en.size, en.toSet().size, "each code has its own English text: $en")
        assertEquals(fi.size, fi.toSet().size, "each code has its own Finnish text: $fi")
        en.zip(fi).forEach { (e, f) -> assertNotEquals(e, f, "not translated: $e") }
        assertTrue(fi.none { "%" in it }, "every argument was filled: $fi")
        assertEquals("Sijainti tunnetaan vain 120 metrin tarkkuudella; kaupunki tarvitsee 50 metriä. Odota tarkempaa paikannusta tai siirrä merkkiä.",
            finnish.issue(FieldIssue.NotPreciseEnough(120.4, 50.0)))
        assertEquals("Paikka on alueen Espoo palvelualueen ulkopuolella; se kuuluu alueeseen Helsinki.",
            finnish.issue(FieldIssue.OutsideServiceArea("Espoo", "Helsinki", "helsinki")))
    }
}
