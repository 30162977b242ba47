import Curbside
import Foundation

/// The drafts screen's state, free of UIKit and SwiftUI so it is tested on Linux too.
///
/// Every change goes to Curbside first and the list is then re-read from it: the database is
/// the truth, the UI only shows it.
@MainActor
public final class DraftsModel {
    /// What the drafts screen shows.
    public struct State: Equatable {
        public var drafts: [Draft] = []
        /// A message to show next to `fieldInError`, or as a banner when that is nil.
        public var error: String?
        public var fieldInError: String?
    }

    /// The current state; the SwiftUI view observes it through `onChange`.
    public private(set) var state = State() {
        didSet { onChange?(state) }
    }

    /// Called after every change of `state`.
    public var onChange: ((State) -> Void)?

    private let drafts: Drafts

    public init(drafts: Drafts) {
        self.drafts = drafts
    }

    /// Re-reads the drafts from Curbside.
    public func refresh() async { await attempt {} }

    /// Saves the user's edits as a new draft (`id == nil`) or on an existing one.
    public func save(id: DraftId?, edits: [DraftEdit]) async {
        await attempt {
            if let id { _ = try await self.drafts.edit(id: id, edits: edits) }
            else { _ = try await self.drafts.create(edits: edits) }
        }
    }

    /// Deletes a draft.
    public func delete(id: DraftId) async {
        await attempt { try await self.drafts.delete(id: id) }
    }

    private func attempt(_ change: () async throws -> Void) async {
        var next = State()
        do {
            try await change()
        } catch let ApiError.InvalidInput(field, reason) {
            next.error = reason
            next.fieldInError = field
        } catch ApiError.NotFound {
            next.error = "This draft no longer exists."
        } catch {
            next.error = "\(error)"
        }
        next.drafts = (try? await drafts.list()) ?? state.drafts
        state = next
    }
}
