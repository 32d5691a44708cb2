import Synchronization
import SwitchboardCore

/// What the transports share about the process: whether it is draining, and the open connections.
final class BrokerState: Sendable {
    /// The open connections and counts kept as they come and go, so that limits, metrics
    /// and the admin API never walk every connection.
    private struct Registry {
        var open: [UInt64: Connection] = [:]
        var byTransport = TransportCounts()
        var streamingByIP: [String: Int] = [:]
        var readersByTopic: [String: TransportCounts] = [:]

        mutating func add(_ connection: Connection) {
            guard open.updateValue(connection, forKey: connection.id) == nil else { return }
            count(connection, by: 1)
        }

        mutating func remove(_ connection: Connection) {
            guard open.removeValue(forKey: connection.id) != nil else { return }
            count(connection, by: -1)
        }

        private mutating func count(_ connection: Connection, by delta: Int) {
            byTransport.add(connection.transport, delta)
            if connection.isStreaming {
                let ip = connection.remoteIP
                let now = streamingByIP[ip, default: 0] + delta
                streamingByIP[ip] = now > 0 ? now : nil
            }
            for topic in connection.topics {
                var counts = readersByTopic[topic, default: TransportCounts()]
                counts.add(connection.transport, delta)
                readersByTopic[topic] = counts.poll + counts.sse > 0 ? counts : nil
            }
        }
    }

    private let draining = Atomic<Bool>(false)
    private let registry = Mutex(Registry())
    /// HTTP connections reading or answering a request, and who waits for the broker to fall quiet.
    private struct Busy {
        var count = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let busy = Mutex(Busy())

    /// An HTTP connection started (`+1`) or finished (`-1`) reading or answering a request.
    func requestsInFlight(_ delta: Int) {
        let waiters = busy.withLock { busy in
            busy.count += delta
            return takeWaitersIfQuiet(&busy)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until no connection is open and no request is in flight, or the task is cancelled.
    func quiet() async {
        let id = busy.withLock { busy in
            busy.nextWaiter += 1
            return busy.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = busy.withLock { busy in
                    busy.waiters[id] = continuation
                    return Task.isCancelled ? busy.waiters.removeValue(forKey: id).map { [$0] } ?? [] : takeWaitersIfQuiet(&busy)
                }
                for waiter in ready { waiter.resume() }
            }
        } onCancel: {
            busy.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// The waiters to resume when nothing is open or in flight (taken out of `busy`).
    private func takeWaitersIfQuiet(_ busy: inout Busy) -> [CheckedContinuation<Void, Never>] {
        guard busy.count == 0, !busy.waiters.isEmpty, connectionCount == 0 else { return [] }
        defer { busy.waiters = [:] }
        return Array(busy.waiters.values)
    }

    /// Wakes ``quiet()`` waiters once the last connection went.
    private func connectionsChanged() {
        let waiters = busy.withLock { takeWaitersIfQuiet(&$0) }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether a shutdown has begun; new work is refused with 503.
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Connections open now, of every transport.
    var connectionCount: Int { registry.withLock { $0.open.count } }

    /// Connections open now of one transport.
    func count(_ transport: Transport) -> Int {
        registry.withLock { $0.byTransport.count(transport) }
    }

    /// Poll and SSE readers per topic (WebSocket subscribers are the engine's to count).
    var readersByTopic: [String: TransportCounts] { registry.withLock { $0.readersByTopic } }

    /// Long-lived connections (WebSocket and SSE, not waiting polls) open now in total, and those from `ip`.
    func streamingConnectionCounts(ip: String) -> (total: Int, fromIP: Int) {
        registry.withLock { ($0.byTransport.ws + $0.byTransport.sse, $0.streamingByIP[ip] ?? 0) }
    }

    /// Every open connection, oldest first.
    var connections: [Connection] {
        registry.withLock { Array($0.open.values) }.sorted { ($0.connectedAt, $0.id) < ($1.connectedAt, $1.id) }
    }

    /// The open connection with `id`, if any.
    func connection(id: UInt64) -> Connection? {
        registry.withLock { $0.open[id] }
    }

    /// Records an open connection; if the process is already draining it is closed at once.
    func register(_ connection: Connection) {
        registry.withLock { $0.add(connection) }
        if isDraining { connection.close(1001, "shutting down") }
    }

    /// Forgets a connection that ended.
    func unregister(_ connection: Connection) {
        registry.withLock { $0.remove(connection) }
        connectionsChanged()
    }

    /// Starts draining: refuse new work and close every connection (WebSockets with 1001,
    /// waiting polls answered with what they have, SSE streams ended).
    func beginDrain() {
        draining.store(true, ordering: .releasing)
        for connection in registry.withLock({ Array($0.open.values) }) {
            connection.close(1001, "shutting down")
        }
    }
}
