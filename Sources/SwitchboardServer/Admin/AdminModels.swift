import SwitchboardCore

/// The broker's version: the one constant `switchboard --version` and `/v1/admin/stats` report.
public enum BuildInfo {
    /// The version string.
    public static let version = "0.5.0"
}

/// Subscriber or connection counts per transport, as the admin API shows them.
struct TransportCounts: Encodable, Sendable {
    /// WebSocket.
    var ws = 0
    /// Long-poll.
    var poll = 0
    /// Server-sent events.
    var sse = 0

    /// Adds `count` to `transport`'s figure.
    mutating func add(_ transport: Transport, _ count: Int = 1) {
        switch transport {
        case .ws: ws += count
        case .poll: poll += count
        case .sse: sse += count
        }
    }

    /// `transport`'s figure.
    func count(_ transport: Transport) -> Int {
        switch transport {
        case .ws: ws
        case .poll: poll
        case .sse: sse
        }
    }
}

/// One topic as the admin API shows it.
struct TopicObject: Encodable, Sendable {
    /// A ring's bounds as the admin API shows them.
    struct Limits: Encodable, Sendable {
        /// The most events kept.
        var capacity: Int
        /// The most payload bytes kept.
        var maxBytes: Int
        /// The longest an event is kept, in seconds; 0 for no age limit.
        var ttlSeconds: Int
    }

    /// The topic's name.
    var name: String
    /// Its current epoch.
    var epoch: String
    /// Its newest seq (0 before the first event).
    var seq: UInt64
    /// The oldest buffered seq (`seq + 1` when nothing is buffered).
    var oldestSeq: UInt64
    /// Events buffered.
    var bufferedEvents: Int
    /// Payload bytes buffered.
    var bufferedBytes: Int
    /// Subscribers per transport.
    var subscribers: TransportCounts
    /// Events per second over the last minute.
    var publishRate: Double
    /// Its ring's bounds.
    var limits: Limits
    /// Events per second over the last seconds, oldest first; only in stats snapshots.
    var rateHistory: [UInt32]?

    /// The object for `info`, with poll and SSE subscribers counted from the connection registry.
    init(_ info: TopicInfo, others: TransportCounts?) {
        name = info.name
        epoch = info.epoch
        seq = info.seq
        oldestSeq = info.oldestSeq
        bufferedEvents = info.bufferedEvents
        bufferedBytes = info.bufferedBytes
        subscribers = others ?? TransportCounts()
        subscribers.ws = info.subscribers
        publishRate = (info.publishRate * 1000).rounded() / 1000
        limits = Limits(capacity: info.limits.capacity, maxBytes: info.limits.maxBytes, ttlSeconds: info.limits.ttlSeconds)
    }
}

/// One open connection as the admin API shows it.
struct ConnectionObject: Encodable, Sendable {
    /// The id `DELETE /v1/admin/connections/{id}` takes.
    var id: UInt64
    /// `ws`, `poll` or `sse`.
    var transport: String
    /// The peer's `ip:port`.
    var remote: String
    /// Its topics, sorted.
    var subscriptions: [String]
    /// Bytes waiting to be written to it.
    var queuedBytes: Int
    /// Gaps it was told of because it read too slowly.
    var gaps: UInt64
    /// µs since the Unix epoch, like event timestamps.
    var connectedAt: Int64

    /// The object for `connection`, with its activity now.
    init(_ connection: Connection) {
        let activity = connection.activity()
        id = connection.id
        transport = connection.transport.rawValue
        remote = connection.remote
        subscriptions = activity.subscriptions.sorted()
        queuedBytes = activity.queuedBytes
        gaps = activity.gaps
        connectedAt = connection.connectedAt
    }
}

/// `GET /v1/admin/stats`.
struct StatsObject: Encodable, Sendable {
    /// The broker's version.
    var version = BuildInfo.version
    /// Whole seconds since the broker started.
    var uptimeSeconds: Int64
    /// Topics that exist.
    var topics: Int
    /// Open connections per transport.
    var connections: TransportCounts
    /// Events accepted by publishes.
    var eventsPublishedTotal: UInt64
    /// Events written to clients, every transport.
    var eventsDeliveredTotal: UInt64
    /// Bytes written to clients as sent.
    var bytesSentTotal: UInt64
    /// The same bytes before compression.
    var bytesSentUncompressedTotal: UInt64
    /// Gap messages sent.
    var gapsTotal: UInt64
}

/// What the broker publishes to its stats topic each second, for the admin page.
struct StatsSnapshot: Encodable, Sendable {
    /// When it was taken, µs since the Unix epoch.
    var ts: Int64
    /// The broker's totals.
    var stats: StatsObject
    /// The busiest topics (by publish rate, then name), at most ``AdminReport/snapshotLimit``.
    var topics: [TopicObject]
    /// The oldest connections, at most ``AdminReport/snapshotLimit``.
    var connections: [ConnectionObject]
    /// How many topics and connections exist, shown or not.
    var totals: Totals

    /// The counts before truncation.
    struct Totals: Encodable, Sendable {
        /// Topics that exist.
        var topics: Int
        /// Connections open.
        var connections: Int
    }
}
