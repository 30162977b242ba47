import Curbside
import CurbsideSampleCore
import Foundation
import XCTest

/// The iOS sample's screens as a citizen uses them, through their models, with the real core
/// against the sandbox city: pick a service, answer, place it, add a photo, send, see the
/// city's refusal, fix it and send again, see it sent.
@MainActor
final class ReportFlowTests: XCTestCase {
    struct Timeout: Error { let what: String }

    func testACitizenReportsFixesWhatTheCityRefusedAndSeesItSent() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let endpoint = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SANDBOX_URL"])
        let camera = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SAMPLE_PHOTO"])
        let profile = #"{"id": "bikeville", "name": "Bikeville 311", "server": {"endpoint": "\#(endpoint)"}, "max_accuracy_m": 50}"#
        let core = try await CurbsideCore.open(config: CurbsideConfig(
            dataDir: dir.path, profiles: [profile], apiKeys: ["bikeville": "sandbox-key"],
            retry: RetryPolicy(initial: 0.05, max: 0.5, tokenPoll: 0.05, maxChecks: 12)))
        let texts = try CurbsideTexts.bundled(language: "en")

        let services = ServicesModel(core: core, city: "bikeville")
        await services.load()
        XCTAssertNil(services.problem)
        XCTAssertTrue(services.services.contains { $0.code == "bike_rack" }, "the city's own question")
        let pothole = try XCTUnwrap(services.services.first { $0.code == "pothole" })
        let report = try await services.start(pothole, texts: texts)
        XCTAssertEqual(Set(report.questions.map(\.datatype)),
                       [.string, .number, .datetime, .text, .singleValueList, .multiValueList])
        try await report.answer("WHERE", ["road"])
        try await report.answer("DEPTH", ["250"])
        try await report.describe("Deep pothole by the bike rack")
        try await report.place(Location(latitude: 38.8893, longitude: -77.0502, accuracyM: 6, source: .gps, capturedAt: Date()))
        try await report.addPhoto(at: camera)
        XCTAssertEqual(report.photos.count, 1)
        XCTAssertEqual(report.issues, [], "ready to send")
        let submitted = try await report.submit()
        let sent = try XCTUnwrap(submitted)

        let outbox = OutboxModel(core: core, city: "bikeville", texts: texts)
        outbox.start()
        let refused = try await until("the city's refusal") { outbox.reports.first { outbox.action(for: $0) != nil } }
        XCTAssertEqual(refused.id, sent.id)
        XCTAssertEqual(outbox.action(for: refused), .editAndResubmit)
        XCTAssertTrue(outbox.status(of: refused).contains("at most 100"), outbox.status(of: refused))

        let fixing = try await outbox.fix(refused)
        XCTAssertEqual(fixing.answers["DEPTH"], ["250"], "the answers came back")
        try await fixing.answer("DEPTH", ["25"])
        let resubmitted = try await fixing.submit()
        XCTAssertNotNil(resubmitted)
        let delivered = try await until("the report sent") { outbox.reports.first { $0.state == .sent } }
        XCTAssertTrue(outbox.status(of: delivered).hasPrefix("Sent to the city as #"))
        outbox.stop()
        await core.shutdown()
    }

    /// Waits, the main actor free, until `found` gives something.
    private func until<T>(_ what: String, seconds: Double = 20, _ found: () -> T?) async throws -> T {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let value = found() { return value }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw Timeout(what: what)
    }
}
