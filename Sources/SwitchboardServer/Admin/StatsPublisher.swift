import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore

/// Publishes a ``StatsSnapshot`` (JSON) to the system topic ``topic`` once a second while
/// anyone is subscribed to it; the admin page reads it over the broker's own WebSocket.
///
/// It looks ten times a second, so that a new subscriber (a page that just opened) gets a
/// snapshot at once instead of up to a second later.
struct StatsPublisher: Service {
    /// The system topic the snapshots go to.
    static let topic = "_switchboard.stats"
    /// Its ring: a few snapshots are enough to start a page with `last`.
    static let limits = RingLimits(capacity: 4, maxBytes: 8 * 1024 * 1024, ttlSeconds: 0)

    /// Builds the snapshots.
    let report: AdminReport
    /// How often a snapshot is published while someone listens.
    let interval: Duration
    /// Where failures to publish are logged (at debug level).
    let logger: Logger

    /// Runs until graceful shutdown.
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var last: ContinuousClock.Instant?
            var lastSubscribers = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                let subscribers = self.subscribers()
                defer { lastSubscribers = subscribers }
                guard subscribers > 0 else { continue }
                let due = last.map { clock.now - $0 >= interval } ?? true
                guard due || subscribers > lastSubscribers else { continue }
                last = clock.now
                publish()
            }
        }
    }

    /// Subscribers of the stats topic on any transport.
    private func subscribers() -> Int {
        guard let info = report.engine.topicInfo(Self.topic) else { return 0 }
        let others = report.otherSubscribers()[Self.topic]
        return info.subscribers + (others?.poll ?? 0) + (others?.sse ?? 0)
    }

    private func publish() {
        let engine = report.engine
        do {
            if engine.topicInfo(Self.topic)?.limits != Self.limits {
                try engine.setLimits(Self.limits, for: Self.topic)
            }
            let payload = ByteBuffer(string: AdminReport.json(report.snapshot()))
            _ = try engine.publish(PublishRequest(topic: Self.topic, payload: payload, contentType: "application/json"))
        } catch {
            logger.debug("stats snapshot not published", metadata: ["error": "\(error)"])
        }
    }
}
