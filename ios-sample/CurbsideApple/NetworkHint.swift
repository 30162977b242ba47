#if canImport(Network)
import Curbside
import Foundation
import Network

/// Feeds the platform's connectivity to the outbox (NWPathMonitor): the SDK stops trying when
/// the network goes and tries at once when it returns.
public final class NetworkHint: @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let outbox: Outbox

    /// Starts observing for `outbox`; keep the hint as long as the app runs.
    public init(outbox: Outbox) {
        self.outbox = outbox
        monitor.pathUpdateHandler = { [outbox] path in
            try? outbox.setNetworkAvailable(available: path.status == .satisfied)
        }
        monitor.start(queue: DispatchQueue(label: "dev.curbside.network"))
    }

    deinit { monitor.cancel() }
}
#endif
