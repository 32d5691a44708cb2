import Synchronization
import SwitchboardCore

/// What the transports share about the process: whether it is draining, and the open sessions.
final class BrokerState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let sessions = Mutex<[UInt64: Subscriber]>([:])

    /// Whether a shutdown has begun; new work is refused with 503.
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// WebSocket sessions open now.
    var sessionCount: Int { sessions.withLock { $0.count } }

    func add(_ subscriber: Subscriber) {
        sessions.withLock { $0[subscriber.id] = subscriber }
    }

    func remove(_ subscriber: Subscriber) {
        sessions.withLock { _ = $0.removeValue(forKey: subscriber.id) }
    }

    /// Starts draining: refuse new work and ask every session to close with 1001.
    func beginDrain() {
        draining.store(true, ordering: .releasing)
        let open = sessions.withLock { Array($0.values) }
        for subscriber in open {
            subscriber.close(code: 1001, reason: "shutting down")
        }
    }
}
