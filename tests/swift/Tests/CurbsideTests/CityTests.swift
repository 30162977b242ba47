import Curbside
import Foundation
import XCTest

/// City profiles, the catalog and validation through the Swift API, against the sandbox.
final class CityTests: XCTestCase {
    private var dir: URL!
    private var endpoint: String!

    override func setUpWithError() throws {
        endpoint = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SANDBOX_URL"], "run through tests/run")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func profile(_ endpoint: String) -> String {
        """
        {"id": "springfield", "name": "Springfield", "server": {"endpoint": "\(endpoint)", "api_key": "sandbox-key"},
         "required_contact": ["email"],
         "service_area": {"type": "Polygon", "coordinates": [[[-77.2, 38.8], [-76.9, 38.8], [-76.9, 39.0], [-77.2, 39.0], [-77.2, 38.8]]]}}
        """
    }

    func testAProfileDrivesTheCatalogTheFormAndItsValidation() async throws {
        let core = try CurbsideCore(dataDir: dir.path)
        core.setNetworkAvailable(available: false)
        let city = try await core.addProfile(json: profile(endpoint))
        XCTAssertEqual(city.id, "springfield")
        let catalog = try await core.catalogServices(profileId: "springfield", refresh: false)
        XCTAssertFalse(catalog.stale)
        XCTAssertEqual(catalog.services.count, 4)
        let draft = try await core.createDraft(fields: DraftFields(description: "From the Swift city test"))
        let form = try await core.serviceForm(draftId: draft.id, profileId: "springfield", serviceCode: "pothole")
        XCTAssertEqual(form.definition.attributes.count, 7)
        let problems = Set(try await core.validateDraft(draftId: draft.id).map(\.field))
        XCTAssertEqual(problems, ["location", "attributes.WHERE", "attributes.DEPTH", "contact.email"])
        do {
            _ = try await core.submit(draftId: draft.id, serverId: "springfield")
            XCTFail("an incomplete report was submitted")
        } catch let ApiError.InvalidDraft(errors) {
            XCTAssertEqual(Set(errors.map(\.field)), problems)
        }
    }

    func testAMalformedProfileNamesItsField() async throws {
        let core = try CurbsideCore(dataDir: dir.path)
        do {
            _ = try await core.addProfile(json: profile("http://311.remote.example/"))
            XCTFail("an insecure endpoint was accepted")
        } catch let ApiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "profile.server.endpoint")
        }
    }

    /// Another citizen's phone reports a problem through its own Curbside, and it is sent.
    private func neighbourReports(service: String, latitude: Double, longitude: Double, description: String) async throws {
        let phone = try CurbsideCore(dataDir: dir.appendingPathComponent("neighbour").path)
        _ = try await phone.addProfile(json: profile(endpoint))
        let draft = try await phone.createDraft(fields: DraftFields(
            serviceCode: service,
            location: Location(latitude: latitude, longitude: longitude, accuracyM: 5, source: .gps, capturedAt: Date()),
            description: description, contact: Contact(email: "neighbour@example.org")))
        let report = try await phone.submit(draftId: draft.id, serverId: "springfield")
        // Its worker may send it before (or while) this sync runs: wait for it to be sent.
        for _ in 0..<100 {
            _ = try await phone.syncNow()
            if case .sent? = try await phone.reports().first(where: { $0.id == report.id })?.state { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("the neighbour's report was not sent")
    }

    func testNearbyRequestsComeNearestFirstAndAsGeoJSON() async throws {
        let core = try CurbsideCore(dataDir: dir.path)
        _ = try await core.addProfile(json: profile(endpoint))
        try await neighbourReports(service: "graffiti", latitude: 38.8894, longitude: -77.0502, description: "Swift nearby")
        let nearby = try await core.nearbyRequests(profileId: "springfield", latitude: 38.8893, longitude: -77.0502,
                                                   radiusM: 50, serviceCode: nil, openOnly: false)
        XCTAssertFalse(nearby.requests.isEmpty)
        XCTAssertEqual(nearby.requests.map(\.distanceM), nearby.requests.map(\.distanceM).sorted())
        XCTAssertTrue(nearby.requests.contains { $0.request.description == "Swift nearby" })
        let geojson = try await core.requestsGeojson(profileId: "springfield", latitude: 38.8893, longitude: -77.0502, radiusM: 50)
        let parsed = try JSONSerialization.jsonObject(with: Data(geojson.utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["type"] as? String, "FeatureCollection")
    }
}
