import Foundation
import SwitchboardCore

/// Builds what the admin API and the stats topic show, from the engine, the connection
/// registry and the metrics.
struct AdminReport: Sendable {
    /// The topic engine.
    let engine: InMemoryTopicEngine
    /// The registry of open connections.
    let state: BrokerState
    /// The metrics the transports record into.
    let metrics: BrokerMetrics
    /// When the broker started, µs since the Unix epoch.
    let startedAt: Int64

    /// The most topics and connections a stats snapshot lists.
    static let snapshotLimit = 500
    /// Seconds of per-second publish counts a snapshot gives each topic, for the page's sparklines.
    static let historySeconds = 30

    /// Poll and SSE subscribers per topic, as the connection registry counts them.
    func otherSubscribers() -> [String: TransportCounts] {
        state.readersByTopic
    }

    /// Every topic whose name starts with `prefix`, sorted by name.
    func topics(prefix: String = "") -> [TopicObject] {
        let others = otherSubscribers()
        return engine.topicInfos(prefix: prefix).map { TopicObject($0, others: others[$0.name]) }
    }

    /// One topic, if it exists.
    func topic(_ name: String) -> TopicObject? {
        engine.topicInfo(name).map { TopicObject($0, others: otherSubscribers()[name]) }
    }

    /// Every open connection, oldest first.
    func connections() -> [ConnectionObject] {
        state.connections.map(ConnectionObject.init)
    }

    /// The broker's totals.
    func stats() -> StatsObject {
        var connections = TransportCounts()
        for connection in state.connections { connections.add(connection.transport) }
        let stats = engine.stats
        let totals = metrics.totals
        return StatsObject(
            uptimeSeconds: max(0, WallClock.micros() - startedAt) / 1_000_000,
            topics: engine.topicCount,
            connections: connections,
            eventsPublishedTotal: stats.eventsPublished.load(ordering: .relaxed),
            eventsDeliveredTotal: totals.delivered.load(ordering: .relaxed),
            bytesSentTotal: totals.sent.load(ordering: .relaxed),
            bytesSentUncompressedTotal: totals.sentUncompressed.load(ordering: .relaxed),
            gapsTotal: stats.gaps.load(ordering: .relaxed) + totals.gaps.load(ordering: .relaxed)
        )
    }

    /// The snapshot for the stats topic: totals, the busiest topics and the oldest connections.
    func snapshot() -> StatsSnapshot {
        let histories = engine.publishHistories(seconds: Self.historySeconds)
        let topics = self.topics().map { topic in
            var topic = topic
            topic.rateHistory = histories[topic.name] ?? Array(repeating: 0, count: Self.historySeconds)
            return topic
        }
        let connections = self.connections()
        let busiest = topics.count <= Self.snapshotLimit ? topics : Array(
            topics.sorted { ($0.publishRate, $1.name) > ($1.publishRate, $0.name) }.prefix(Self.snapshotLimit)
        ).sorted { $0.name < $1.name }
        return StatsSnapshot(
            ts: WallClock.micros(), stats: stats(), topics: busiest, connections: Array(connections.prefix(Self.snapshotLimit)),
            totals: .init(topics: topics.count, connections: connections.count)
        )
    }

    /// `value` as the admin API's JSON (snake_case keys).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
