import CoreMetrics
import Prometheus
import Synchronization
import SwitchboardCore

/// The broker's Prometheus metrics: what transports record as they write, and what is read
/// from the engine and the connection registry at scrape time.
///
/// Each broker has its own `PrometheusCollectorRegistry`; the global `MetricsSystem` is
/// never bootstrapped, so many brokers can run in one process (as the tests do).
final class BrokerMetrics: Sendable {
    /// How bytes went on the wire.
    enum Encoding: String, Sendable, CaseIterable {
        /// Not compressed.
        case identity
        /// zstd: a compressed WebSocket frame or `Content-Encoding: zstd`.
        case zstd
        /// `Content-Encoding: gzip`.
        case gzip
        /// A permessage-deflate WebSocket message (RFC 7692).
        case deflate

        /// The encoding of an HTTP answer sent in `coding`.
        init(_ coding: ContentCoding) {
            switch coding {
            case .identity: self = .identity
            case .zstd: self = .zstd
            case .gzip: self = .gzip
            }
        }
    }

    /// The registry `/metrics` renders.
    let registry: PrometheusCollectorRegistry
    /// What the transports recorded, for `/v1/admin/stats`.
    let totals = Totals()
    private let delivered: [Transport: CoreMetrics.Counter]
    private let sentBytes: [Transport: [Encoding: CoreMetrics.Counter]]
    private let sentUncompressed: [Transport: CoreMetrics.Counter]
    private let latency: [Transport: CoreMetrics.Timer]
    private let scraped: ScrapedMetrics

    /// Latency buckets, from 100 µs to 10 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Creates the metrics of one broker in a registry of its own.
    init(engine: InMemoryTopicEngine, state: BrokerState, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["switchboard_delivery_latency_seconds"] = Self.latencyBuckets
        var delivered: [Transport: CoreMetrics.Counter] = [:]
        var sentBytes: [Transport: [Encoding: CoreMetrics.Counter]] = [:]
        var sentUncompressed: [Transport: CoreMetrics.Counter] = [:]
        var latency: [Transport: CoreMetrics.Timer] = [:]
        for transport in Transport.allCases {
            let label = ("transport", transport.rawValue)
            delivered[transport] = CoreMetrics.Counter(label: "switchboard_events_delivered_total", dimensions: [label], factory: factory)
            sentUncompressed[transport] = CoreMetrics.Counter(label: "switchboard_bytes_sent_uncompressed_total", dimensions: [label], factory: factory)
            latency[transport] = CoreMetrics.Timer(label: "switchboard_delivery_latency_seconds", dimensions: [label], factory: factory)
            for encoding in Encoding.allCases {
                sentBytes[transport, default: [:]][encoding] = CoreMetrics.Counter(
                    label: "switchboard_bytes_sent_total", dimensions: [label, ("encoding", encoding.rawValue)], factory: factory
                )
            }
        }
        self.delivered = delivered
        self.sentBytes = sentBytes
        self.sentUncompressed = sentUncompressed
        self.latency = latency
        self.scraped = ScrapedMetrics(engine: engine, state: state, factory: factory)
    }

    // MARK: Recording, called by the transports

    /// Counts `events` events written to a client of `transport`.
    func delivered(transport: Transport, events: Int) {
        guard events > 0 else { return }
        delivered[transport]?.increment(by: Int64(events))
        totals.delivered.add(UInt64(events), ordering: .relaxed)
    }

    /// Counts bytes written to a client: `bytes` as sent with `encoding`, `uncompressedBytes` before compression.
    func sent(transport: Transport, encoding: Encoding, bytes: Int, uncompressedBytes: Int) {
        sentBytes[transport]?[encoding]?.increment(by: Int64(bytes))
        sentUncompressed[transport]?.increment(by: Int64(uncompressedBytes))
        totals.sent.add(UInt64(bytes), ordering: .relaxed)
        totals.sentUncompressed.add(UInt64(uncompressedBytes), ordering: .relaxed)
    }

    /// Records the delay from an event's `ts` (µs since the Unix epoch) to `now`, when it is handed to the socket.
    func latency(transport: Transport, publishedAt ts: Int64, now: Int64 = WallClock.micros()) {
        latency[transport]?.recordNanoseconds(max(0, now - ts) * 1000)
    }

    /// Counts gaps a transport reported that the engine's `EngineStats.gaps` does not count.
    func gaps(_ count: Int = 1) {
        totals.gaps.add(UInt64(count), ordering: .relaxed)
    }

    /// Prometheus text for `/metrics`: refreshes what is read at scrape time, then renders.
    func render() -> String {
        scraped.refresh(extraGaps: totals.gaps.load(ordering: .relaxed))
        return registry.emitToString()
    }

    /// Running totals of what the transports recorded.
    final class Totals: Sendable {
        /// Events written to clients.
        let delivered = Atomic<UInt64>(0)
        /// Bytes written to clients, as sent.
        let sent = Atomic<UInt64>(0)
        /// Bytes written to clients, before compression.
        let sentUncompressed = Atomic<UInt64>(0)
        /// Gaps recorded by transports outside the engine.
        let gaps = Atomic<UInt64>(0)
    }
}
