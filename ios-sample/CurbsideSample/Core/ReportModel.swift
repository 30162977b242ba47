import Curbside
import Foundation
import Observation

/// One report: the form built from the service's definition, where it is, its photos, what
/// was already reported nearby, and submit. Every change is saved in the draft at once (a
/// killed app loses nothing), field by field. Free of UIKit and SwiftUI.
@MainActor @Observable
public final class ReportModel {
    /// The draft being written.
    public let draftId: DraftId
    /// The questions to ask, in order.
    public private(set) var questions: [Attribute] = []
    /// The answers by question code, as saved.
    public private(set) var answers: [String: [String]] = [:]
    /// What the citizen wrote, as saved.
    public private(set) var description = ""
    /// Where it is, as saved.
    public private(set) var location: Location?
    /// The processed photos (paths to show).
    public private(set) var photos: [String] = []
    /// What must change before it can be sent, in the user's words.
    public private(set) var issues: [String] = []
    /// Requests of the same service already reported within 50 m.
    public private(set) var nearby: [NearbyRequest] = []

    private let core: CurbsideCore
    private let city: String
    private let texts: CurbsideTexts

    /// The model of an existing draft; call `load` next.
    public init(core: CurbsideCore, city: String, draftId: DraftId, texts: CurbsideTexts) {
        self.core = core
        self.city = city
        self.draftId = draftId
        self.texts = texts
    }

    /// Reads the draft; with `service`, first sets it up for that service (its questions).
    public func load(service: String? = nil) async throws {
        var draft = try await core.drafts().get(id: draftId)
        if let service, draft.fields.serviceCode != service || draft.fields.definition == nil {
            draft = try await core.cities().serviceForm(draftId: draftId, profileId: city, serviceCode: service).draft
        }
        await show(draft)
    }

    /// Saves one answer (a list's keys, or one text).
    public func answer(_ code: String, _ values: [String]) async throws {
        answers[code] = values.filter { !$0.isEmpty }
        let all = answers.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { code, values in
            AttributeAnswer(code: code, values: values,
                            multiple: questions.first { $0.code == code }?.datatype == .multiValueList)
        }
        await show(try await core.drafts().edit(id: draftId, edits: [.answers(answers: all)]))
    }

    /// Saves the description.
    public func describe(_ text: String) async throws {
        await show(try await core.drafts().edit(id: draftId, edits: [.description(text: text)]))
    }

    /// Saves where it is: the device's fix, or a pin the user placed.
    public func place(_ location: Location) async throws {
        await show(try await core.drafts().edit(id: draftId, edits: [.location(location: location)]))
    }

    /// Adds a photo the user picked or took (a file the app wrote): the pipeline makes the copy
    /// that is sent. Its position is offered when the draft has none.
    public func addPhoto(at path: String) async throws {
        let added = try await core.photos().add(draftId: draftId, sourcePath: path)
        if location == nil, let candidate = added.locationCandidate {
            try await place(candidate)
        } else {
            await show(added.draft)
        }
    }

    /// Sends it: the report, or nil with `issues` saying what to fix.
    public func submit() async throws -> Report? {
        do {
            return try await core.outbox().submit(draftId: draftId)
        } catch let ApiError.NotReady(problems) {
            issues = problems.map { texts.issue($0.issue) }
            return nil
        }
    }

    private func show(_ draft: Draft) async {
        questions = (draft.fields.definition?.attributes ?? []).filter(\.variable)
            .sorted { ($0.order ?? 0) < ($1.order ?? 0) }
        answers = Dictionary(draft.fields.attributes.map { ($0.code, $0.values) }, uniquingKeysWith: { _, last in last })
        description = draft.fields.description
        location = draft.fields.location
        photos = draft.fields.photos
        issues = ((try? await core.drafts().validate(id: draftId)) ?? []).map { texts.issue($0.issue) }
        if let here = location {
            let query = NearbyQuery(profileId: city, latitude: here.latitude, longitude: here.longitude, radiusM: 50,
                                    serviceCode: draft.fields.serviceCode, openOnly: true)
            nearby = (try? await core.cities().nearby(query: query))?.requests ?? []
        }
    }
}

/// A report screen is identified by its draft (for navigation destinations).
extension ReportModel: Identifiable, Hashable {
    public nonisolated var id: DraftId { draftId }

    public nonisolated static func == (a: ReportModel, b: ReportModel) -> Bool { a.draftId == b.draftId }

    public nonisolated func hash(into hasher: inout Hasher) { hasher.combine(draftId) }
}
