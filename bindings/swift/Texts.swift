import Foundation

/// Curbside's codes in the user's words: why a report needs attention, what to fix in a
/// field, and each history entry, from the string catalog `Localizable.xcstrings` (English and
/// Finnish; keys shared with the Android string resources). The city's own words
/// (`Attention.messages`, notes) are shown as they come.
public struct CurbsideTexts: Sendable {
    private let strings: [String: String]
    private let fallback: [String: String]

    /// The texts in `language` ("en", "fi"; English where one is missing) from a string
    /// catalog's JSON.
    public init(catalog: Data, language: String) throws {
        let root = try JSONSerialization.jsonObject(with: catalog) as? [String: Any]
        let entries = root?["strings"] as? [String: Any] ?? [:]
        func table(_ language: String) -> [String: String] {
            var out: [String: String] = [:]
            for (key, value) in entries {
                let localizations = (value as? [String: Any])?["localizations"] as? [String: Any]
                let unit = (localizations?[language] as? [String: Any])?["stringUnit"] as? [String: Any]
                if let text = unit?["value"] as? String { out[key] = text }
            }
            return out
        }
        strings = table(language)
        fallback = table("en")
    }

    #if SWIFT_PACKAGE
    /// The texts in `language` from the catalog bundled with this package.
    public static func bundled(language: String) throws -> CurbsideTexts {
        guard let url = Bundle.module.url(forResource: "Localizable", withExtension: "xcstrings") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try CurbsideTexts(catalog: Data(contentsOf: url), language: language)
    }
    #endif

    private func text(_ name: String, _ args: CustomStringConvertible...) -> String {
        var format = strings["curbside_" + name] ?? fallback["curbside_" + name] ?? name
        for (index, arg) in args.enumerated() {
            for spec in ["%\(index + 1)$@", "%\(index + 1)$lld"] {
                format = format.replacingOccurrences(of: spec, with: arg.description)
            }
        }
        return format
    }

    /// Why a report stopped, and what the user can do.
    public func attention(_ attention: Attention) -> String {
        let count = Int(attention.count ?? 0)
        switch attention.kind {
        case .refused: return text("attention_refused")
        case .settingsRefused: return text("attention_settings_refused")
        case .badSettings: return text("attention_bad_settings")
        case .serverKeepsFailing: return text("attention_server_keeps_failing", count)
        case .saidDuplicate: return text("attention_said_duplicate")
        case .ambiguousMatch:
            return count == 1 ? text("attention_ambiguous_match_one") : text("attention_ambiguous_match", count)
        case .unsearchable: return text("attention_unsearchable")
        case .other: return text("attention_other")
        }
    }

    /// A report's last failure (`Report.lastError`); its `detail` is for support, not the user.
    public func lastError(_ error: LastError) -> String {
        switch error.code {
        case .unreachable: return text("last_error_unreachable")
        case .busy: return text("last_error_busy")
        case .noAnswer: return text("last_error_no_answer")
        case .serverFailed: return text("last_error_server_failed", Int(error.status ?? 0))
        case .refused: return text("last_error_refused")
        case .duplicate: return text("last_error_duplicate")
        case .settings: return text("last_error_settings")
        case .unsearchable: return text("last_error_unsearchable")
        case .tokenUnreadable: return text("last_error_token_unreadable")
        case .statusRefresh: return text("last_error_status_refresh")
        case .other: return text("last_error_other")
        }
    }

    /// What to change in a field.
    public func issue(_ issue: FieldIssue) -> String {
        switch issue {
        case .chooseService: return text("issue_choose_service")
        case .placeOrAddress: return text("issue_place_or_address")
        case .nullIsland: return text("issue_null_island")
        case let .notPreciseEnough(accuracyM, limitM):
            return text("issue_not_precise_enough", Int(accuracyM.rounded()), Int(limitM.rounded()))
        case let .outsideServiceArea(city, otherCity, _):
            if let otherCity { return text("issue_outside_service_area_in", city, otherCity) }
            return text("issue_outside_service_area", city)
        case let .contactRequired(city): return text("issue_contact_required", city)
        case .notAnEmail: return text("issue_not_an_email")
        case .notAPhone: return text("issue_not_a_phone")
        case .notAQuestion: return text("issue_not_a_question")
        case let .answerRequired(question): return text("issue_answer_required", question)
        case .chooseOne: return text("issue_choose_one")
        case .chooseFromList: return text("issue_choose_from_list")
        case .enterNumber: return text("issue_enter_number")
        case .enterDateTime: return text("issue_enter_date_time")
        case .enterOneLine: return text("issue_enter_one_line")
        case .enterOneAnswer: return text("issue_enter_one_answer")
        }
    }

    /// One line of a report's history.
    public func history(_ event: HistoryEvent) -> String {
        switch event {
        case .submitted: return text("history_submitted")
        case .photosNotSent: return text("history_photos_not_sent")
        case .recovered: return text("history_recovered")
        case let .retryLater(askedSeconds):
            if let askedSeconds { return text("history_retry_later_capped", askedSeconds) }
            return text("history_retry_later")
        case let .received(requestId):
            if let requestId { return text("history_received", requestId) }
            return text("history_received_no_id")
        case .queuedByCity: return text("history_queued_by_city")
        case .noAnswer: return text("history_no_answer")
        case let .serverUnavailable(status): return text("history_server_unavailable", status)
        case let .serverError(status, _): return text("history_server_error", status)
        case .saidDuplicate: return text("history_said_duplicate")
        case let .foundOnServer(requestId): return text("history_found_on_server", requestId)
        case .notOnServer: return text("history_not_on_server")
        case .notFoundYet: return text("history_not_found_yet")
        case let .answeredLate(requestId): return text("history_answered_late", requestId)
        case let .idFromToken(requestId): return text("history_id_from_token", requestId)
        case .tokenUnreadable: return text("history_token_unreadable")
        case .tokenNeverResolved: return text("history_token_never_resolved")
        case let .needsAttention(attention): return self.attention(attention)
        case .cancelled: return text("history_cancelled")
        case .retriedByUser: return text("history_retried_by_user")
        case .settingsChanged: return text("history_settings_changed")
        case let .statusChanged(status, notes):
            if let notes { return text("history_status_changed_notes", status, notes) }
            return text("history_status_changed", status)
        case .withdrawn: return text("history_withdrawn")
        case let .confirmedByUser(requestId): return text("history_confirmed_by_user", requestId)
        case let .followedAfterClosing(days): return text("history_followed_after_closing", Int(days))
        case let .cityNote(noteKind, text):
            if let noteKind { return "[\(noteKind)] \(text)" }
            return text
        case let .legacy(_, text): return text
        }
    }
}
