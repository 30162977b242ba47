import Curbside
import Foundation
import XCTest

/// The outbox through the generated Swift API and `reportsStream()`, against the sandbox.
final class OutboxTests: XCTestCase {
    private var dir: URL!
    private var endpoint: String!

    override func setUpWithError() throws {
        endpoint = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SANDBOX_URL"],
                                 "run these tests through tests/run, which starts the sandbox")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func open() async throws -> CurbsideCore {
        let core = try CurbsideCore(dataDir: dir.path)
        try await core.setServer(serverId: "city", config: ServerConfig(endpoint: endpoint, apiKey: "sandbox-key"))
        core.setRetryPolicy(initialSeconds: 0.05, maxSeconds: 0.5, tokenPollSeconds: 0.05)
        return core
    }

    private func pothole(_ description: String) -> DraftFields {
        DraftFields(serviceCode: "pothole",
                    location: Location(latitude: 38.8893, longitude: -77.0502, accuracyM: 5, source: .gps, capturedAt: Date()),
                    description: description,
                    attributes: [AttributeAnswer(code: "WHERE", values: ["bike"]), AttributeAnswer(code: "DEPTH", values: ["2"])])
    }

    func testASubmittedReportReachesTheCityAndTheStreamShowsIt() async throws {
        let core = try await open()
        let draft = try await core.createDraft(fields: pothole("Swift outbox report"))
        let report = try await core.submit(draftId: draft.id, serverId: "city")
        let id = report.id
        let seen = await firstList(of: core.reportsStream(), within: 20) { reports in
            reports.contains { $0.id == id && $0.state == .sent }
        }
        let sent = seen?.first { $0.id == id }
        XCTAssertNotNil(sent?.requestId, "not sent within 20 s")
        let detail = try await core.report(id: report.id)
        XCTAssertEqual(detail.history.map(\.kind), ["submitted", "sent"])
    }

    func testOfflineReportsCanBeCancelledAndIncompleteOnesAreRefused() async throws {
        let core = try await open()
        core.setNetworkAvailable(available: false)
        let draft = try await core.createDraft(fields: pothole("never mind"))
        let report = try await core.submit(draftId: draft.id, serverId: "city")
        let cancelled = try await core.cancelReport(id: report.id)
        XCTAssertEqual(cancelled.state, .cancelled)

        let incomplete = try await core.createDraft(fields: DraftFields(description: "no service yet"))
        do {
            _ = try await core.submit(draftId: incomplete.id, serverId: "city")
            XCTFail("an incomplete draft was submitted")
        } catch let ApiError.InvalidDraft(errors) {
            XCTAssertEqual(errors.map(\.field), ["service_code", "location"])
        }
        let drafts = try await core.listDrafts()
        XCTAssertEqual(drafts.count, 1, "a refused draft stays a draft")
    }

    func testBackgroundRunsSendWhatIsDue() async throws {
        let core = try await open()
        core.setNetworkAvailable(available: false)
        let draft = try await core.createDraft(fields: pothole("sent by runPending"))
        _ = try await core.submit(draftId: draft.id, serverId: "city")
        let summary = try await core.runPending(seconds: 20)
        XCTAssertEqual(summary.waiting, 0)
        let reports = try await core.reports()
        XCTAssertTrue(reports.allSatisfy { $0.state == .sent })
    }

    /// Runs the outbox (worker off) until every report waits for the user.
    private func untilAllNeedAttention(_ core: CurbsideCore) async throws -> [Report] {
        for _ in 0..<60 {
            _ = try await core.runPending(seconds: 10)
            let reports = try await core.reports()
            if reports.allSatisfy({ if case .needsAttention = $0.state { return true } else { return false } }) {
                return reports
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("still not waiting for the user")
        return try await core.reports()
    }

    func testWhatAStubbornCityAnswersBecomesACode() async throws {
        let core = try await open()
        core.setNetworkAvailable(available: false)
        let root = endpoint.components(separatedBy: "/open311/")[0]
        try await core.setServer(serverId: "strict",
                                 config: ServerConfig(endpoint: root + "/mode/key_400/open311/v2/", apiKey: "revoked"))
        try await core.setServer(serverId: "fragile",
                                 config: ServerConfig(endpoint: root + "/mode/refuse_500/open311/v2/", apiKey: "sandbox-key"))
        let badKey = try await core.submit(draftId: try await core.createDraft(fields: pothole("Swift bad key")).id,
                                           serverId: "strict")
        let bottomless = DraftFields(serviceCode: "pothole",
                                     location: Location(latitude: 38.8893, longitude: -77.0502, accuracyM: 5,
                                                        source: .gps, capturedAt: Date()),
                                     description: "Swift bottomless",
                                     attributes: [AttributeAnswer(code: "WHERE", values: ["road"]),
                                                  AttributeAnswer(code: "DEPTH", values: ["bottomless"])])
        let never = try await core.submit(draftId: try await core.createDraft(fields: bottomless).id,
                                          serverId: "fragile")
        let reports = try await untilAllNeedAttention(core)

        guard case let .needsAttention(key) = reports.first(where: { $0.id == badKey.id })?.state else {
            return XCTFail("the bad key's report does not wait for the user")
        }
        XCTAssertEqual(key.kind, .settingsRefused)
        XCTAssertEqual(key.action, .checkSettings)
        XCTAssertEqual(key.messages.map(\.description), ["Invalid API key"])

        guard case let .needsAttention(failing) = reports.first(where: { $0.id == never.id })?.state else {
            return XCTFail("the refused report does not wait for the user")
        }
        XCTAssertEqual(failing.kind, .serverKeepsFailing)
        XCTAssertEqual(failing.action, .editAndResubmit)
        XCTAssertEqual(failing.messages.map(\.description), ["ValidationError at /open311/v2/requests.json"])
    }

    func testNoGhostInTheStreamAfterEditAndCancel() async throws {
        let core = try await open()
        core.setNetworkAvailable(available: false)
        let edited = try await core.submit(draftId: try await core.createDraft(fields: pothole("Swift edited")).id,
                                           serverId: "city")
        let cancelled = try await core.submit(draftId: try await core.createDraft(fields: pothole("Swift cancelled")).id,
                                              serverId: "city")
        XCTAssertEqual(edited.state, .waitingForNetwork)
        _ = try await core.editReport(id: edited.id)
        _ = try await core.cancelReport(id: cancelled.id)
        let (editedId, cancelledId) = (edited.id, cancelled.id)
        let last = await firstList(of: core.reportsStream(), within: 10) { reports in
            reports.allSatisfy { $0.id != editedId }
                && reports.first(where: { $0.id == cancelledId })?.state == .cancelled
        }
        XCTAssertEqual(last?.map(\.id), [cancelled.id], "the edited report is gone, not a ghost")
    }

    func testTheLogReachesTheAppWithoutPersonalData() async throws {
        let sink = CollectingSink()
        setLogSink(sink: sink, level: .debug)
        let core = try await open()
        core.setNetworkAvailable(available: false)
        let secret = "Swift log secret \(UUID().uuidString)"
        let report = try await core.submit(draftId: try await core.createDraft(fields: pothole(secret)).id,
                                           serverId: "city")
        _ = try await core.runPending(seconds: 20)
        let lines = sink.lines()
        XCTAssertTrue(lines.contains { $0.contains(report.id) && $0.contains("to=sent") }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.contains(secret) || $0.contains("sandbox-key") })
    }
}

/// Keeps every log line.
final class CollectingSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []

    func log(level: LogLevel, target: String, message: String) {
        lock.lock()
        defer { lock.unlock() }
        kept.append("\(target) \(message)")
    }

    func lines() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }
}

/// The first list `stream` yields that satisfies `condition`, or nil after `seconds`: a stream
/// that stops yielding can never hang the suite.
func firstList(
    of stream: AsyncStream<[Report]>,
    within seconds: Double,
    where condition: @escaping @Sendable ([Report]) -> Bool
) async -> [Report]? {
    let found = Task { () -> [Report]? in
        for await reports in stream where condition(reports) {
            return reports
        }
        return nil
    }
    let watchdog = Task {
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
        found.cancel() // ends the stream's iteration, and with it the subscription
    }
    let result = await found.value
    watchdog.cancel()
    return result
}
