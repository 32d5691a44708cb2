import CoreMetrics
import Prometheus
import Synchronization
import SwitchboardCore

/// The metrics read at scrape time from what the broker already counts: the engine's
/// atomics, its topics and the connection registry.
final class ScrapedMetrics: Sendable {
    /// The engine whose counters and topics are read.
    let engine: InMemoryTopicEngine
    /// The registry of open connections.
    let state: BrokerState
    private let published: CoreMetrics.Counter
    private let received: CoreMetrics.Counter
    private let gaps: CoreMetrics.Counter
    private let dropped: CoreMetrics.Counter
    private let slowDisconnects: CoreMetrics.Counter
    private let topics: CoreMetrics.Gauge
    private let bufferedBytes: CoreMetrics.Gauge
    private let connections: [Transport: CoreMetrics.Gauge]
    private let subscriptions: [Transport: CoreMetrics.Gauge]
    /// The counter values last pushed into the registry, to add only the difference.
    private let pushed = Mutex<[String: UInt64]>([:])

    /// Creates the series in `factory`'s registry.
    init(engine: InMemoryTopicEngine, state: BrokerState, factory: PrometheusMetricsFactory) {
        self.engine = engine
        self.state = state
        published = CoreMetrics.Counter(label: "switchboard_events_published_total", factory: factory)
        received = CoreMetrics.Counter(label: "switchboard_bytes_received_total", factory: factory)
        gaps = CoreMetrics.Counter(label: "switchboard_gaps_total", factory: factory)
        dropped = CoreMetrics.Counter(label: "switchboard_events_dropped_total", factory: factory)
        slowDisconnects = CoreMetrics.Counter(label: "switchboard_slow_disconnects_total", factory: factory)
        topics = CoreMetrics.Gauge(label: "switchboard_topics", factory: factory)
        bufferedBytes = CoreMetrics.Gauge(label: "switchboard_buffered_bytes", factory: factory)
        var connections: [Transport: CoreMetrics.Gauge] = [:]
        var subscriptions: [Transport: CoreMetrics.Gauge] = [:]
        for transport in Transport.allCases {
            connections[transport] = CoreMetrics.Gauge(label: "switchboard_connections", dimensions: [("transport", transport.rawValue)], factory: factory)
            subscriptions[transport] = CoreMetrics.Gauge(label: "switchboard_subscriptions", dimensions: [("transport", transport.rawValue)], factory: factory)
        }
        self.connections = connections
        self.subscriptions = subscriptions
    }

    /// Brings every scraped series up to date.
    func refresh(extraGaps: UInt64) {
        let stats = engine.stats
        pushed.withLock { pushed in
            func sync(_ counter: CoreMetrics.Counter, _ key: String, _ value: UInt64) {
                let before = pushed[key, default: 0]
                if value > before { counter.increment(by: Int64(value - before)) }
                pushed[key] = max(before, value)
            }
            sync(published, "published", stats.eventsPublished.load(ordering: .relaxed))
            sync(received, "received", stats.bytesReceived.load(ordering: .relaxed))
            sync(gaps, "gaps", stats.gaps.load(ordering: .relaxed) + extraGaps)
            sync(dropped, "dropped", stats.eventsDropped.load(ordering: .relaxed))
            sync(slowDisconnects, "slow", stats.slowDisconnects.load(ordering: .relaxed))
        }
        topics.record(engine.topicCount)
        bufferedBytes.record(engine.bufferedBytes)
        var open: [Transport: Int] = [:]
        var subscribed: [Transport: Int] = [:]
        for connection in state.connections {
            open[connection.transport, default: 0] += 1
            subscribed[connection.transport, default: 0] += connection.activity().subscriptions.count
        }
        for transport in Transport.allCases {
            connections[transport]?.record(open[transport] ?? 0)
            subscriptions[transport]?.record(subscribed[transport] ?? 0)
        }
    }
}
