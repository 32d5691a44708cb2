import Synchronization
import SwitchboardCore

/// The ways a client can receive events.
enum Transport: String, Sendable, CaseIterable {
    /// A WebSocket connection.
    case ws
    /// A waiting long-poll.
    case poll
    /// A server-sent events stream.
    case sse
}

/// What an operator sees of one connection right now.
struct ConnectionActivity: Sendable {
    /// The topics it receives.
    var subscriptions: [String]
    /// Bytes waiting to be written to it.
    var queuedBytes: Int
    /// Gaps it was told of.
    var gaps: UInt64
}

/// One open connection (a WebSocket, an SSE stream or a waiting poll) as the process knows it.
final class Connection: Sendable {
    /// A process-unique id, shared with the WebSocket's ``Subscriber`` where there is one.
    let id: UInt64
    /// How it receives events.
    let transport: Transport
    /// The peer's address, e.g. `127.0.0.1:53422`.
    let remote: String
    /// When it opened, µs since the Unix epoch.
    let connectedAt: Int64
    /// Its topics, queued bytes and gaps now.
    let activity: @Sendable () -> ConnectionActivity
    /// Ends it: a WebSocket closes with `code`, a poll answers now, an SSE stream ends.
    let close: @Sendable (_ code: UInt16, _ reason: String) -> Void

    init(
        id: UInt64 = Subscriber.makeID(), transport: Transport, remote: String, connectedAt: Int64 = WallClock.micros(),
        activity: @escaping @Sendable () -> ConnectionActivity,
        close: @escaping @Sendable (_ code: UInt16, _ reason: String) -> Void
    ) {
        self.id = id
        self.transport = transport
        self.remote = remote
        self.connectedAt = connectedAt
        self.activity = activity
        self.close = close
    }
}

/// What the transports share about the process: whether it is draining, and the open connections.
final class BrokerState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let open = Mutex<[UInt64: Connection]>([:])

    /// Whether a shutdown has begun; new work is refused with 503.
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Connections open now, of every transport.
    var connectionCount: Int { open.withLock { $0.count } }

    /// Connections open now of one transport.
    func count(_ transport: Transport) -> Int {
        open.withLock { $0.values.reduce(0) { $0 + ($1.transport == transport ? 1 : 0) } }
    }

    /// Long-lived connections (WebSocket and SSE, not waiting polls) open now in total, and those from `ip`.
    func streamingConnectionCounts(ip: String) -> (total: Int, fromIP: Int) {
        // Remote addresses are `ip:port` or `[ip]:port`; a prefix test avoids parsing each one under the lock.
        let prefix = ip.contains(":") ? "[\(ip)]:" : "\(ip):"
        return open.withLock { open in
            var total = 0, fromIP = 0
            for connection in open.values where connection.transport != .poll {
                total += 1
                if connection.remote.hasPrefix(prefix) { fromIP += 1 }
            }
            return (total, fromIP)
        }
    }

    /// Every open connection, oldest first.
    var connections: [Connection] {
        open.withLock { Array($0.values) }.sorted { ($0.connectedAt, $0.id) < ($1.connectedAt, $1.id) }
    }

    /// The open connection with `id`, if any.
    func connection(id: UInt64) -> Connection? {
        open.withLock { $0[id] }
    }

    /// Records an open connection; if the process is already draining it is closed at once.
    func register(_ connection: Connection) {
        open.withLock { $0[connection.id] = connection }
        if isDraining { connection.close(1001, "shutting down") }
    }

    /// Forgets a connection that ended.
    func unregister(_ connection: Connection) {
        open.withLock { _ = $0.removeValue(forKey: connection.id) }
    }

    /// Starts draining: refuse new work and close every connection (WebSockets with 1001,
    /// waiting polls answered with what they have, SSE streams ended).
    func beginDrain() {
        draining.store(true, ordering: .releasing)
        for connection in open.withLock({ Array($0.values) }) {
            connection.close(1001, "shutting down")
        }
    }
}
