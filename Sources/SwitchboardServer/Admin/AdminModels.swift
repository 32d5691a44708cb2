import SwitchboardCore

/// The broker's version, as `/v1/admin/stats` reports it.
enum BuildInfo {
    /// The version string.
    static let version = "0.5.0"
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
}

/// One topic as the admin API shows it.
struct TopicObject: Encodable, Sendable {
    /// A ring's bounds as the admin API shows them.
    struct Limits: Encodable, Sendable {
        var capacity: Int
        var maxBytes: Int
        var ttlSeconds: Int
    }

    var name: String
    var epoch: String
    var seq: UInt64
    var oldestSeq: UInt64
    var bufferedEvents: Int
    var bufferedBytes: Int
    var subscribers: TransportCounts
    var publishRate: Double
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
    var id: UInt64
    var transport: String
    var remote: String
    var subscriptions: [String]
    var queuedBytes: Int
    var gaps: UInt64
    /// µs since the Unix epoch, like event timestamps.
    var connectedAt: Int64

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
    var version = BuildInfo.version
    var uptimeSeconds: Int64
    var topics: Int
    var connections: TransportCounts
    var eventsPublishedTotal: UInt64
    var eventsDeliveredTotal: UInt64
    var bytesSentTotal: UInt64
    var bytesSentUncompressedTotal: UInt64
    var gapsTotal: UInt64
}

/// What the broker publishes to its stats topic each second, for the admin page.
struct StatsSnapshot: Encodable, Sendable {
    /// When it was taken, µs since the Unix epoch.
    var ts: Int64
    var stats: StatsObject
    /// The busiest topics (by publish rate, then name), at most ``AdminReport/snapshotLimit``.
    var topics: [TopicObject]
    /// The oldest connections, at most ``AdminReport/snapshotLimit``.
    var connections: [ConnectionObject]
    /// How many topics and connections exist, shown or not.
    var totals: Totals

    /// The counts before truncation.
    struct Totals: Encodable, Sendable {
        var topics: Int
        var connections: Int
    }
}
