import Curbside
import Foundation
import XCTest

/// City profiles, the catalog, validation and nearby requests through the Swift API.
final class CityTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = scratchDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func springfield() throws -> String {
        profile("springfield", endpoint: try Sandbox.endpoint(), extra: #"""
            , "required_contact": ["email"], "max_accuracy_m": 50,
             "service_area": {"type": "Polygon", "coordinates":
               [[[-77.2, 38.8], [-76.9, 38.8], [-76.9, 39.0], [-77.2, 39.0], [-77.2, 38.8]]]}
            """#)
    }

    private func open(_ at: URL? = nil) async throws -> CurbsideCore {
        try await openCurbside(at ?? dir, more: [try springfield()], keys: ["springfield": "sandbox-key"])
    }

    private var here: Location {
        Location(latitude: 38.8893, longitude: -77.0502, accuracyM: 5, source: .gps, capturedAt: Date())
    }

    /// Called from the main actor (an app's UI), no work runs on the main thread, and while
    /// the city's server takes 2 s to answer the main actor keeps running.
    @MainActor
    func testNoCallRunsOnTheCallersThreadAndASlowServerNeverFreezesIt() async throws {
        let sink = CollectingSink()
        setLogSink(sink: sink, level: .debug)
        let slow = profile("slow", endpoint: try Sandbox.mode("slow:2000"))
        let core = try await openCurbside(dir, more: [slow], keys: ["slow": "sandbox-key"])
        XCTAssertTrue(Thread.isMainThread, "the test runs on the main thread")
        // The main actor is free while the slow server answers: a job queued on it after the
        // call runs before the answer comes (were the call to block it, only after).
        var answered = false
        let started = Date()
        let answer = Task { @MainActor in
            defer { answered = true }
            return try await core.cities().services(profileId: "slow", refresh: true)
        }
        let ranWhileWaiting = await Task { @MainActor in !answered }.value
        let services = try await answer.value
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(services.services.count, 5)
        XCTAssertGreaterThan(waited, 1.5, "the server was slow")
        XCTAssertTrue(ranWhileWaiting, "the main actor was blocked while the server was slow")
        _ = try await core.report(pothole("from the main actor"))
        _ = try await core.outbox().syncNow()
        let lines = sink.lines()
        XCTAssertTrue(lines.contains { $0.hasPrefix("curbside::http") }, "exchanges were logged")
        XCTAssertFalse(lines.contains { $0.hasSuffix("main=true") }, "work ran on the main thread: \(lines.filter { $0.hasSuffix("main=true") })")
        await core.shutdown()
    }

    func testAProfileDrivesTheCatalogTheFormAndItsValidation() async throws {
        let core = try await open()
        try core.outbox().setNetworkAvailable(available: false)
        let city = try await core.cities().profiles().first { $0.id == "springfield" }
        XCTAssertEqual(city?.requiredContact, ["email"])
        let catalog = try await core.cities().services(profileId: "springfield", refresh: false)
        XCTAssertFalse(catalog.stale)
        XCTAssertEqual(catalog.services.count, 5)
        let definition = try await core.cities().definition(profileId: "springfield", serviceCode: "pothole", refresh: false)

        let draft = try await core.drafts().create(edits: [.description(text: "From the Swift city test")])
        let form = try await core.cities().serviceForm(draftId: draft.id, profileId: "springfield", serviceCode: "pothole")
        XCTAssertEqual(form.draft.fields.profileId, "springfield")
        XCTAssertEqual(form.definition, definition.definition)
        let problems = try await core.drafts().validate(id: draft.id)
        XCTAssertEqual(Set(problems.map(\.field)), ["location", "attributes.WHERE", "attributes.DEPTH", "contact.email"])
        _ = try await core.drafts().edit(id: draft.id, edits: [
            .location(location: here),
            .answers(answers: [AttributeAnswer(code: "WHERE", values: ["road"]), AttributeAnswer(code: "DEPTH", values: ["4"])]),
            .contact(contact: Contact(firstName: nil, lastName: nil, email: "ada@example.org", phone: nil)),
        ])
        let none = try await core.drafts().validate(id: draft.id)
        XCTAssertEqual(none, [])
    }

    func testAMalformedProfileNamesItsField() async throws {
        do {
            _ = try await openCurbside(dir, more: [profile("remote", endpoint: "http://311.remote.example/")])
            XCTFail("a plain-http remote endpoint was accepted")
        } catch let ApiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "profile.server.endpoint")
        }
    }

    func testNearbyRequestsComeNearestFirstInAViewportAndAsGeoJSON() async throws {
        let neighbour = try await open(dir.appendingPathComponent("neighbour"))
        let theirs = try await neighbour.report([
            .city(profileId: "springfield"), .service(serviceCode: "graffiti"), .description(text: "Swift nearby"),
            .contact(contact: Contact(firstName: nil, lastName: nil, email: "n@example.org", phone: nil)),
            .location(location: Location(latitude: 38.8894, longitude: -77.0502, accuracyM: 5, source: .gps, capturedAt: Date())),
        ])
        for _ in 0..<100 {
            _ = try await neighbour.outbox().syncNow()
            if try await neighbour.outbox().report(id: theirs.id).report.state == .sent { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        await neighbour.shutdown()

        let core = try await open()
        let query = NearbyQuery(profileId: "springfield", latitude: 38.8893, longitude: -77.0502, radiusM: 50)
        let nearby = try await core.cities().nearby(query: query)
        XCTAssertFalse(nearby.requests.isEmpty)
        XCTAssertEqual(nearby.requests.map(\.distanceM), nearby.requests.map(\.distanceM).sorted())
        let viewport = try await core.cities().inBox(profileId: "springfield",
                                                     viewport: MapBox(south: 38.8890, west: -77.0505, north: 38.8897, east: -77.0499))
        XCTAssertTrue(viewport.requests.contains { $0.description == "Swift nearby" })
        XCTAssertFalse(nearby.stale)
        XCTAssertFalse(nearby.coverage.partial)
        XCTAssertGreaterThanOrEqual(nearby.coverage.queries, 1)
        let geojson = try await core.cities().nearbyGeojson(query: query)
        XCTAssertTrue(geojson.contains("\"FeatureCollection\""))
        XCTAssertTrue(geojson.contains("\"coverage\""))
    }
}
