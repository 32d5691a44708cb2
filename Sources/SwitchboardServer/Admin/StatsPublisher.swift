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
            var lastWebSockets = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                // Only WebSocket subscribers are looked at this often (one lookup); poll and SSE
                // subscribers, which take a walk over the connections, once per interval.
                let webSockets = report.engine.topicInfo(Self.topic)?.subscribers ?? 0
                defer { lastWebSockets = webSockets }
                let due = last.map { clock.now - $0 >= interval } ?? true
                guard webSockets > lastWebSockets || due else { continue }
                last = clock.now
                if webSockets > 0 || hasOtherSubscribers() { publish() }
            }
        }
    }

    /// Whether a poll or SSE connection listens to the stats topic.
    private func hasOtherSubscribers() -> Bool {
        guard let others = report.otherSubscribers()[Self.topic] else { return false }
        return others.poll + others.sse > 0
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
