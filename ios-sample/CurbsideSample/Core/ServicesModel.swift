import Curbside
import Foundation
import Observation

/// The first screen: the city's services from the cached catalog (stale when offline).
/// Free of UIKit and SwiftUI, so it is tested on Linux too.
@MainActor @Observable
public final class ServicesModel {
    /// The services to offer.
    public private(set) var services: [Service] = []
    /// True when the list came from an old or offline cache: say it may be out of date.
    public private(set) var stale = false
    /// Why the list could not be loaded, if it could not.
    public private(set) var problem: String?

    private let core: CurbsideCore
    private let city: String

    /// The services of `city` (a profile id given at open).
    public init(core: CurbsideCore, city: String) {
        self.core = core
        self.city = city
    }

    /// Loads the list (from the cache while fresh).
    public func load() async {
        do {
            let catalog = try await core.cities().services(profileId: city, refresh: false)
            services = catalog.services
            stale = catalog.stale
            problem = nil
        } catch {
            problem = "The city's services cannot be loaded now. Try again with a network."
        }
    }

    /// Starts a report of `service`: a draft for this city, with the service's questions.
    public func start(_ service: Service, texts: CurbsideTexts) async throws -> ReportModel {
        let draft = try await core.drafts().create(edits: [.city(profileId: city)])
        let report = ReportModel(core: core, city: city, draftId: draft.id, texts: texts)
        try await report.load(service: service.code)
        return report
    }
}
