package dev.curbside

import dev.curbside.types.*
import javax.xml.parsers.DocumentBuilderFactory

/**
 * Curbside's codes in the user's words: why a report needs attention, what to fix in a field,
 * and each history entry. The texts are the Android library's string resources
 * (`android-sample/curbside/src/main/res/values`, and
 * `res/values-fi` in Finnish); [string] looks one up by name and formats it. On Android:
 * `CurbsideTexts { name, args -> context.getString(context.resources.getIdentifier(name, "string", context.packageName), *args) }`.
 * The city's own words (`Attention.messages`, notes) are shown as they come.
 */
class CurbsideTexts(private val string: (name: String, args: Array<out Any>) -> String) {
    private fun text(name: String, vararg args: Any) = string("curbside_$name", args)

    /** Why a report stopped, and what the user can do. */
    fun attention(attention: Attention): String {
        val count = (attention.count ?: 0u).toInt()
        return when (attention.kind) {
            AttentionKind.REFUSED -> text("attention_refused")
            AttentionKind.SETTINGS_REFUSED -> text("attention_settings_refused")
            AttentionKind.BAD_SETTINGS -> text("attention_bad_settings")
            AttentionKind.SERVER_KEEPS_FAILING -> text("attention_server_keeps_failing", count)
            AttentionKind.SAID_DUPLICATE -> text("attention_said_duplicate")
            AttentionKind.AMBIGUOUS_MATCH ->
                if (count == 1) text("attention_ambiguous_match_one") else text("attention_ambiguous_match", count)
            AttentionKind.UNSEARCHABLE -> text("attention_unsearchable")
            AttentionKind.OTHER -> text("attention_other")
        }
    }

    /** A report's last failure (`Report.lastError`); its `detail` is for support, not the user. */
    fun lastError(error: LastError): String = when (error.code) {
        LastErrorCode.UNREACHABLE -> text("last_error_unreachable")
        LastErrorCode.BUSY -> text("last_error_busy")
        LastErrorCode.NO_ANSWER -> text("last_error_no_answer")
        LastErrorCode.SERVER_FAILED -> text("last_error_server_failed", (error.status ?: 0u).toInt())
        LastErrorCode.REFUSED -> text("last_error_refused")
        LastErrorCode.DUPLICATE -> text("last_error_duplicate")
        LastErrorCode.SETTINGS -> text("last_error_settings")
        LastErrorCode.UNSEARCHABLE -> text("last_error_unsearchable")
        LastErrorCode.TOKEN_UNREADABLE -> text("last_error_token_unreadable")
        LastErrorCode.STATUS_REFRESH -> text("last_error_status_refresh")
        LastErrorCode.OTHER -> text("last_error_other")
    }

    /** What to change in a field. */
    fun issue(issue: FieldIssue): String = when (issue) {
        FieldIssue.ChooseService -> text("issue_choose_service")
        FieldIssue.PlaceOrAddress -> text("issue_place_or_address")
        FieldIssue.NullIsland -> text("issue_null_island")
        is FieldIssue.NotPreciseEnough ->
            text("issue_not_precise_enough", Math.round(issue.accuracyM).toInt(), Math.round(issue.limitM).toInt())
        is FieldIssue.OutsideServiceArea -> issue.otherCity
            ?.let { text("issue_outside_service_area_in", issue.city, it) }
            ?: text("issue_outside_service_area", issue.city)
        is FieldIssue.ContactRequired -> text("issue_contact_required", issue.city)
        FieldIssue.NotAnEmail -> text("issue_not_an_email")
        FieldIssue.NotAPhone -> text("issue_not_a_phone")
        FieldIssue.NotAQuestion -> text("issue_not_a_question")
        is FieldIssue.AnswerRequired -> text("issue_answer_required", issue.question)
        FieldIssue.ChooseOne -> text("issue_choose_one")
        FieldIssue.ChooseFromList -> text("issue_choose_from_list")
        FieldIssue.EnterNumber -> text("issue_enter_number")
        FieldIssue.EnterDateTime -> text("issue_enter_date_time")
        FieldIssue.EnterOneLine -> text("issue_enter_one_line")
        FieldIssue.EnterOneAnswer -> text("issue_enter_one_answer")
    }

    /** One line of a report's history. */
    fun history(event: HistoryEvent): String = when (event) {
        HistoryEvent.Submitted -> text("history_submitted")
        HistoryEvent.PhotosNotSent -> text("history_photos_not_sent")
        HistoryEvent.Recovered -> text("history_recovered")
        is HistoryEvent.RetryLater -> event.askedSeconds
            ?.let { text("history_retry_later_capped", it.toLong()) } ?: text("history_retry_later")
        is HistoryEvent.Received -> event.requestId
            ?.let { text("history_received", it) } ?: text("history_received_no_id")
        HistoryEvent.QueuedByCity -> text("history_queued_by_city")
        HistoryEvent.NoAnswer -> text("history_no_answer")
        is HistoryEvent.ServerUnavailable -> text("history_server_unavailable", event.status.toInt())
        is HistoryEvent.ServerError -> text("history_server_error", event.status.toInt())
        HistoryEvent.SaidDuplicate -> text("history_said_duplicate")
        is HistoryEvent.FoundOnServer -> text("history_found_on_server", event.requestId)
        HistoryEvent.NotOnServer -> text("history_not_on_server")
        HistoryEvent.NotFoundYet -> text("history_not_found_yet")
        is HistoryEvent.AnsweredLate -> text("history_answered_late", event.requestId)
        is HistoryEvent.IdFromToken -> text("history_id_from_token", event.requestId)
        HistoryEvent.TokenUnreadable -> text("history_token_unreadable")
        HistoryEvent.TokenNeverResolved -> text("history_token_never_resolved")
        is HistoryEvent.NeedsAttention -> attention(event.attention)
        HistoryEvent.Cancelled -> text("history_cancelled")
        HistoryEvent.RetriedByUser -> text("history_retried_by_user")
        HistoryEvent.SettingsChanged -> text("history_settings_changed")
        is HistoryEvent.StatusChanged -> event.notes
            ?.let { text("history_status_changed_notes", event.status, it) } ?: text("history_status_changed", event.status)
        HistoryEvent.Withdrawn -> text("history_withdrawn")
        is HistoryEvent.ConfirmedByUser -> text("history_confirmed_by_user", event.requestId)
        is HistoryEvent.FollowedAfterClosing -> text("history_followed_after_closing", event.days.toInt())
        is HistoryEvent.CityNote -> event.noteKind?.let { "[$it] ${event.text}" } ?: event.text
        is HistoryEvent.Legacy -> event.text
    }

    companion object {
        /**
         * The texts in `language` ("en", "fi"; English where a text is missing) from the
         * string resources on the classpath: for the JVM outside Android (desktop, tests).
         */
        fun fromResources(language: String): CurbsideTexts {
            val english = load("values")
            val local = if (language == "en") emptyMap() else load("values-$language")
            return CurbsideTexts { name, args ->
                val format = local[name] ?: english[name] ?: error("no text $name")
                String.format(java.util.Locale.forLanguageTag(language), format, *args)
            }
        }

        private fun load(folder: String): Map<String, String> {
            val stream = CurbsideTexts::class.java.getResourceAsStream("/dev/curbside/res/$folder/strings.xml")
                ?: return emptyMap()
            val strings = stream.use { DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(it) }
                .getElementsByTagName("string")
            return (0 until strings.length).associate { i ->
                val node = strings.item(i)
                node.attributes.getNamedItem("name").nodeValue to node.textContent.replace("\\'", "'")
            }
        }
    }
}
