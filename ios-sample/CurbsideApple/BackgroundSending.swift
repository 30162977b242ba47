#if canImport(BackgroundTasks)
import BackgroundTasks
import Curbside
import Foundation

/// Sends submitted reports while the app is in the background, with BGTaskScheduler: one
/// processing task that needs the network, asked for after each submit and when the app goes
/// to the background, and run within the time iOS gives (less a margin).
///
/// Add `dev.curbside.send` to `BGTaskSchedulerPermittedIdentifiers` and `processing` to
/// `UIBackgroundModes` in Info.plist; call `register` before the app finishes launching.
public enum BackgroundSending {
    /// The task's identifier.
    public static let identifier = "dev.curbside.send"

    /// Registers the task's handler; `outbox` gives the app's one outbox when the task runs.
    public static func register(outbox: @escaping @Sendable () async -> Outbox?) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            let work = Task {
                guard let outbox = await outbox() else { return task.setTaskCompleted(success: false) }
                // iOS gives a processing task minutes; stop well before it expires.
                let summary = try? await outbox.runPending(budget: 25)
                if let summary, summary.waiting > 0 { schedule() }
                task.setTaskCompleted(success: summary != nil)
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    /// Asks iOS to run the task as soon as a network is there.
    public static func schedule() {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        try? BGTaskScheduler.shared.submit(request)
    }
}
#endif
