import Synchronization
import SwitchboardCore

/// Fan-out passes that run only when a test says so (``runAll()``), so core tests see exactly
/// what a pass delivered without sleeping until the queues look quiet.
final class ManualFanOutScheduler: FanOutScheduler {
    private let pending = Mutex<[@Sendable () -> Void]>([])

    func schedule(_ pass: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(pass) }
    }

    /// Runs every scheduled pass, and those they schedule, until none is left.
    func runAll() {
        while true {
            let passes = pending.withLock { pending in
                defer { pending = [] }
                return pending
            }
            if passes.isEmpty { return }
            for pass in passes { pass() }
        }
    }
}
