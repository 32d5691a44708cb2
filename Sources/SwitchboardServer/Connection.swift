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
    /// The topics a poll or SSE stream reads, fixed for its life; empty for a WebSocket,
    /// whose subscriptions change (see ``activity``).
    let topics: [String]
    /// Its topics, queued bytes and gaps now.
    let activity: @Sendable () -> ConnectionActivity
    /// Ends it: a WebSocket closes with `code`, a poll answers now, an SSE stream ends.
    let close: @Sendable (_ code: UInt16, _ reason: String) -> Void

    init(
        id: UInt64 = Subscriber.makeID(), transport: Transport, remote: String, connectedAt: Int64 = WallClock.micros(),
        topics: [String] = [],
        activity: @escaping @Sendable () -> ConnectionActivity,
        close: @escaping @Sendable (_ code: UInt16, _ reason: String) -> Void
    ) {
        self.id = id
        self.transport = transport
        self.remote = remote
        self.connectedAt = connectedAt
        self.topics = Array(Set(topics))
        self.activity = activity
        self.close = close
    }

    /// Whether it holds a connection open for long (a WebSocket or an SSE stream, not a poll).
    var isStreaming: Bool { transport != .poll }

    /// An HTTP reader (a poll or an SSE stream) of fixed `topics`; closing it fires `waiter` for good.
    static func reader(_ transport: Transport, remote: String, topics: [String], waiter: TopicWaiter) -> Connection {
        Connection(
            transport: transport, remote: remote, topics: topics,
            activity: { ConnectionActivity(subscriptions: topics, queuedBytes: 0, gaps: 0) },
            close: { _, _ in waiter.fire(closed: true) }
        )
    }
}
