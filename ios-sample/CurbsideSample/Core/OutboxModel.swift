import Curbside
import Foundation
import Observation

/// The outbox screen: every report with where it is, in the user's words, and what the user
/// can do when one needs them. Updates live as the SDK sends. Free of UIKit and SwiftUI.
@MainActor @Observable
public final class OutboxModel {
    /// Every report, newest first.
    public private(set) var reports: [Report] = []

    private let core: CurbsideCore
    private let city: String
    private let texts: CurbsideTexts
    private var following: Task<Void, Never>?

    public init(core: CurbsideCore, city: String, texts: CurbsideTexts) {
        self.core = core
        self.city = city
        self.texts = texts
    }

    /// Follows the outbox until `stop`.
    public func start() {
        guard following == nil else { return }
        let stream = core.outbox().reportsStream()
        following = Task { [weak self] in
            for await reports in stream { self?.reports = reports }
        }
    }

    /// Stops following.
    public func stop() {
        following?.cancel()
        following = nil
    }

    /// Where a report is, in the user's words.
    public func status(of report: Report) -> String {
        switch report.state {
        case .queued: return "Waiting to be sent"
        case .waitingForNetwork: return "Waiting for a network"
        case .sending: return "Sending…"
        case .sent: return "Sent to the city" + (report.requestId.map { " as #\($0)" } ?? "")
        case let .needsAttention(attention):
            return ([texts.attention(attention)] + attention.messages.map { "“\($0.description)”" }).joined(separator: "\n")
        case .cancelled: return "Withdrawn"
        }
    }

    /// What the user can do about a report, if anything.
    public func action(for report: Report) -> AttentionAction? {
        if case let .needsAttention(attention) = report.state, attention.action != .checkSettings {
            return attention.action
        }
        return nil
    }

    /// Turns a refused report back into a draft to fix.
    public func fix(_ report: Report) async throws -> ReportModel {
        let draft = try await core.outbox().edit(id: report.id)
        let model = ReportModel(core: core, city: city, draftId: draft.id, texts: texts)
        try await model.load()
        return model
    }

    /// Sends a report the city may already have, after the user checked it did not arrive.
    public func sendAgain(_ report: Report) async throws {
        _ = try await core.outbox().retry(id: report.id)
    }
}
