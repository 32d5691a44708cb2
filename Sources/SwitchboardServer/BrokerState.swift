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
