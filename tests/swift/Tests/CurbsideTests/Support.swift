import Curbside
import Foundation
import XCTest

/// The sandbox city tests/run starts on loopback.
enum Sandbox {
    static func endpoint() throws -> String {
        try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SANDBOX_URL"],
                      "run these tests through tests/run, which starts the sandbox")
    }

    /// The sandbox behaving as one stubborn real server (`key_400`, `slow`, ...).
    static func mode(_ mode: String) throws -> String {
        try endpoint().components(separatedBy: "/open311/")[0] + "/mode/\(mode)/open311/v2/"
    }
}

/// A city profile document (no key in it: keys are given apart).
func profile(_ id: String, endpoint: String, extra: String = "") -> String {
    #"{"id": "\#(id)", "name": "City of \#(id.capitalized)", "server": {"endpoint": "\#(endpoint)"}\#(extra)}"#
}

/// A fresh data directory, removed by the caller.
func scratchDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
}

/// Opens Curbside on `dir` with the sandbox as city `city` (and any other profiles).
func openCurbside(_ dir: URL, more: [String] = [], keys: [String: String] = [:]) async throws -> CurbsideCore {
    let config = CurbsideConfig(
        dataDir: dir.path, appName: "CurbsideSwiftTests/1.0",
        profiles: [profile("city", endpoint: try Sandbox.endpoint())] + more,
        apiKeys: ["city": "sandbox-key"].merging(keys) { _, new in new },
        retry: RetryPolicy(initial: 0.05, max: 0.5, tokenPoll: 0.05, maxChecks: 12))
    return try await CurbsideCore.open(config: config)
}

/// The edits of a complete pothole report for `city`.
func pothole(_ description: String, city: String = "city", depth: String = "2") -> [DraftEdit] {
    [.city(profileId: city), .service(serviceCode: "pothole"),
     .location(location: Location(latitude: 38.8893, longitude: -77.0502, accuracyM: 5, source: .gps, capturedAt: Date())),
     .description(text: description),
     .answers(answers: [AttributeAnswer(code: "WHERE", values: ["bike"]), AttributeAnswer(code: "DEPTH", values: [depth])])]
}

extension CurbsideCore {
    /// Creates and submits a report.
    func report(_ edits: [DraftEdit]) async throws -> Report {
        try await outbox().submit(draftId: try await drafts().create(edits: edits).id)
    }
}

/// Keeps every log line, with whether it was logged on the main thread.
final class CollectingSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []

    func log(level: LogLevel, target: String, message: String) {
        let line = "\(target) \(message) main=\(Thread.isMainThread)"
        lock.lock()
        defer { lock.unlock() }
        kept.append(line)
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

/// Every byte of the files in `dir`, as Latin-1 text (for searching).
func bytesOf(_ dir: URL) -> String {
    let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
    return files.compactMap { try? Data(contentsOf: $0) }.map { String(decoding: $0, as: UTF8.self) }.joined()
}
