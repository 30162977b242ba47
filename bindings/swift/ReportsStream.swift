import Foundation

public extension Outbox {
    /// The outbox as an `AsyncStream`: every report (newest first) now, and again after each
    /// change or removal. A copy older than the one held (a lower `version`) is dropped; a
    /// removed report (turned back into a draft) leaves the list. Iterate it in a `Task`;
    /// cancelling the task ends the subscription.
    func reportsStream() -> AsyncStream<[Report]> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let collector = ReportCollector(continuation)
            do {
                let subscription = try self.subscribe(listener: collector)
                continuation.onTermination = { _ in subscription.cancel() }
            } catch {
                continuation.finish()
            }
        }
    }
}

/// Keeps the latest state of every report and yields the whole list after each change.
private final class ReportCollector: ReportListener, @unchecked Sendable {
    private let lock = NSLock()
    private var current: [ReportId: Report] = [:]
    private var removed: [ReportId: UInt64] = [:]
    private let continuation: AsyncStream<[Report]>.Continuation

    init(_ continuation: AsyncStream<[Report]>.Continuation) {
        self.continuation = continuation
    }

    func onReports(reports: [Report]) {
        lock.lock()
        defer { lock.unlock() }
        current = Dictionary(reports.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        publish()
    }

    func onReportChanged(report: Report) {
        lock.lock()
        defer { lock.unlock() }
        let held = current[report.id]?.version ?? removed[report.id]
        if held == nil || report.version > held! {
            current[report.id] = report
            publish()
        }
    }

    /// The list carries no warnings: apps read `databaseRecovery()` at start.
    func onDatabaseRecovered(recovery: DatabaseRecovery) {}

    func onReportRemoved(id: ReportId, version: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        current[id] = nil
        removed[id] = version
        publish()
    }

    private func publish() {
        continuation.yield(current.values.sorted { $0.createdAt > $1.createdAt })
    }
}
