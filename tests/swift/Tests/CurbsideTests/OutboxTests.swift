import Curbside
import Foundation
import XCTest

/// The outbox through the generated Swift API and `reportsStream()`, against the sandbox.
final class OutboxTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = scratchDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func untilSent(_ core: CurbsideCore, _ report: Report) async -> Report? {
        let id = report.id
        let seen = await firstList(of: core.outbox().reportsStream(), within: 20) { reports in
            reports.contains { $0.id == id && $0.state == .sent }
        }
        return seen?.first { $0.id == id }
    }

    func testASubmittedReportReachesTheCityWithItsHistory() async throws {
        let core = try await openCurbside(dir)
        let report = try await core.report(pothole("Swift outbox report"))
        let sent = await untilSent(core, report)
        XCTAssertNotNil(sent?.requestId, "not sent within 20 s")
        let detail = try await core.outbox().report(id: report.id)
        XCTAssertEqual(detail.history.map(\.event), [.submitted, .received(requestId: sent?.requestId)])
    }

    func testNoApiKeyAndNoContactDetailsStayOnTheDevice() async throws {
        let core = try await openCurbside(dir)
        let contact = Contact(firstName: "Grace", lastName: nil, email: "grace.swift@example.org", phone: "+1 555 0142 4711")
        let report = try await core.report(pothole("Swift private report") + [.contact(contact: contact)])
        _ = await untilSent(core, report)
        await core.shutdown()
        let bytes = bytesOf(dir)
        XCTAssertTrue(bytes.contains("Swift private report"), "the search reads the database")
        for secret in ["sandbox-key", "grace.swift@example.org", "0142 4711"] {
            XCTAssertFalse(bytes.contains(secret), "\(secret) is on the device")
        }
    }

    func testOfflineReportsCanBeCancelledAndIncompleteOnesAreRefused() async throws {
        let core = try await openCurbside(dir)
        try core.outbox().setNetworkAvailable(available: false)
        let report = try await core.report(pothole("never mind"))
        let cancelled = try await core.outbox().cancel(id: report.id)
        XCTAssertEqual(cancelled.state, .cancelled)

        let incomplete = try await core.drafts().create(edits: [.city(profileId: "city"), .description(text: "no service yet")])
        do {
            _ = try await core.outbox().submit(draftId: incomplete.id)
            XCTFail("an incomplete draft was submitted")
        } catch let ApiError.NotReady(issues) {
            XCTAssertEqual(issues.map(\.field), ["service_code", "location"])
            XCTAssertEqual(issues.map(\.issue), [.chooseService, .placeOrAddress])
        }
        let drafts = try await core.drafts().list()
        XCTAssertEqual(drafts.count, 1, "a refused draft stays a draft")
    }

    func testBackgroundRunsSendWhatIsDue() async throws {
        let core = try await openCurbside(dir)
        try core.outbox().setNetworkAvailable(available: false)
        _ = try await core.report(pothole("sent by runPending"))
        let summary = try await core.outbox().runPending(budget: 20)
        XCTAssertEqual(summary.waiting, 0)
        let reports = try await core.outbox().reports()
        XCTAssertTrue(reports.allSatisfy { $0.state == .sent })
        let sync = try await core.outbox().syncNow()
        XCTAssertNil(sync.statusError)
    }

    /// Runs the outbox (worker off) until every report waits for the user.
    private func untilAllNeedAttention(_ core: CurbsideCore) async throws -> [Report] {
        for _ in 0..<60 {
            _ = try await core.outbox().runPending(budget: 10)
            let reports = try await core.outbox().reports()
            if reports.allSatisfy({ if case .needsAttention = $0.state { return true } else { return false } }) {
                return reports
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("still not waiting for the user")
        return try await core.outbox().reports()
    }

    func testAReportThatWaitsForTheUserCanBeWithdrawnOrConfirmedAndEverythingForgotten() async throws {
        // Answered `[{}]` by a city whose lists cannot be searched: the user decides.
        let lost = profile("lost", endpoint: try Sandbox.mode("empty_object,lists_refused"))
        let core = try await openCurbside(dir, more: [lost], keys: ["lost": "sandbox-key"])
        try core.outbox().setNetworkAvailable(available: false)
        let first = try await core.report(pothole("Swift withdrawn", city: "lost"))
        let second = try await core.report(pothole("Swift confirmed", city: "lost"))
        for report in try await untilAllNeedAttention(core) {
            guard case let .needsAttention(attention) = report.state else { return XCTFail("not waiting") }
            XCTAssertEqual(attention.kind, .unsearchable)
        }
        let withdrawn = try await core.outbox().withdraw(id: first.id)
        XCTAssertEqual(withdrawn.state, .cancelled)
        let history = try await core.outbox().report(id: first.id).history
        XCTAssertTrue(history.contains { $0.event == .withdrawn })
        let confirmed = try await core.outbox().confirm(id: second.id, requestId: "S-77")
        XCTAssertEqual(confirmed.state, .sent)
        XCTAssertEqual(confirmed.requestId, "S-77")

        let never = try await core.report(pothole("Swift never posted"))
        do {
            _ = try await core.outbox().confirm(id: never.id, requestId: "S-78")
            XCTFail("a report never posted was confirmed")
        } catch ApiError.InvalidInput {}
        let stopped = try await core.forgetEverything(includingUnsent: false)
        XCTAssertFalse(stopped.done)
        XCTAssertEqual(stopped.unsent.map(\.id), [never.id])
        let forgotten = try await core.forgetEverything(includingUnsent: true)
        XCTAssertTrue(forgotten.done)
        XCTAssertEqual(forgotten.reports, 3)
        let left = try await core.outbox().reports()
        XCTAssertTrue(left.isEmpty)
    }

    func testWhatAStubbornCityAnswersBecomesACode() async throws {
        let more = [profile("strict", endpoint: try Sandbox.mode("key_400")),
                    profile("fragile", endpoint: try Sandbox.mode("refuse_500"))]
        let core = try await openCurbside(dir, more: more, keys: ["strict": "revoked", "fragile": "sandbox-key"])
        try core.outbox().setNetworkAvailable(available: false)
        let badKey = try await core.report(pothole("Swift bad key", city: "strict"))
        let never = try await core.report(pothole("Swift bottomless", city: "fragile", depth: "bottomless"))
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
        XCTAssertEqual(failing.count, 3)
        XCTAssertEqual(failing.messages.map(\.description), ["ValidationError at /open311/v2/requests.json"])
        let retried = try await core.outbox().retry(id: never.id)
        XCTAssertEqual(retried.state, .waitingForNetwork, "queued again, shown waiting while the hint says offline")
    }

    func testNoGhostInTheStreamAfterEditAndCancel() async throws {
        let core = try await openCurbside(dir)
        try core.outbox().setNetworkAvailable(available: false)
        let edited = try await core.report(pothole("Swift edited"))
        let cancelled = try await core.report(pothole("Swift cancelled"))
        XCTAssertEqual(edited.state, .waitingForNetwork)
        _ = try await core.outbox().edit(id: edited.id)
        _ = try await core.outbox().cancel(id: cancelled.id)
        let (editedId, cancelledId) = (edited.id, cancelled.id)
        let last = await firstList(of: core.outbox().reportsStream(), within: 10) { reports in
            reports.allSatisfy { $0.id != editedId }
                && reports.first(where: { $0.id == cancelledId })?.state == .cancelled
        }
        XCTAssertEqual(last?.map(\.id), [cancelled.id], "the edited report is gone, not a ghost")
        let page = try await core.outbox().page(limit: 10, offset: 0)
        XCTAssertEqual(page.total, 1)
        XCTAssertEqual(page.reports.map(\.id), [cancelled.id])
    }

    func testTheLogReachesTheAppWithoutPersonalData() async throws {
        let sink = CollectingSink()
        setLogSink(sink: sink, level: .debug)
        let core = try await openCurbside(dir)
        try core.outbox().setNetworkAvailable(available: false)
        let secret = "Swift log secret \(UUID().uuidString)"
        let report = try await core.report(pothole(secret))
        _ = try await core.outbox().runPending(budget: 20)
        let lines = sink.lines()
        XCTAssertTrue(lines.contains { $0.contains(report.id.value) && $0.contains("to=sent") }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.contains(secret) || $0.contains("sandbox-key") })
    }

    func testADamagedDatabaseIsSalvagedAndSupportGetsNoContactDetails() async throws {
        var core = try await openCurbside(dir)
        try core.outbox().setNetworkAvailable(available: false)
        let contact = Contact(firstName: nil, lastName: nil, email: "kept.swift@example.org", phone: nil)
        _ = try await core.report(pothole("Swift kept") + [.contact(contact: contact)])
        await core.shutdown()
        let db = dir.appendingPathComponent("curbside.sqlite3")
        let handle = try FileHandle(forWritingTo: db)
        handle.write(Data("overwritten here".utf8))
        try handle.close()

        core = try await openCurbside(dir)
        let recovery = try XCTUnwrap(core.databaseRecovery(), "the damage is said")
        XCTAssertEqual(recovery.reports, 1)
        let export = dir.appendingPathComponent("for-support.sqlite3")
        let exported = try await core.exportForSupport(path: export.path)
        XCTAssertEqual(exported.reports, 1)
        let text = String(decoding: try Data(contentsOf: export), as: UTF8.self)
        XCTAssertTrue(text.contains("Swift kept"))
        XCTAssertFalse(text.contains("kept.swift@example.org"))
    }
}
