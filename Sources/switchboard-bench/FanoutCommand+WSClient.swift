import ArgumentParser
import Foundation
import HummingbirdTesting
import NIOCore

/// The first fan-out client, on swift-websocket's `WebSocketClient`: kept for permessage-deflate
/// (nchan), which the light subscriber does not speak. It saturates a core at ~28k deliveries/s.
extension FanoutCommand {
    /// Runs the fan-out with one `CountingSubscriber` (a task each) per subscriber.
    func runWithWSClient() async throws {
        let topic = "fan\(Int.random(in: 0..<1_000_000))"
        let url = load.subscribeURL(topic: topic)
        var clients: [CountingSubscriber] = []
        for _ in 0..<subscribers {
            let client = CountingSubscriber(target: load.target, recordLatency: true)
            try await client.connect(url: url, compression: load.compression)
            clients.append(client)
        }
        while !clients.allSatisfy({ $0.tally.withLock { $0.subscribed } }) { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(200))
        let cpuBefore = pid.flatMap(cpuSeconds)
        let benchBefore = cpuSeconds(pid: getpid())
        let start = ContinuousClock.now
        _ = try await load.publish(topic: topic)
        let events = load.events
        let expected = events * subscribers
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while clients.reduce(0, { $0 + $1.tally.withLock { $0.events } }) < expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = ContinuousClock.now - start
        let cpuAfter = pid.flatMap(cpuSeconds)
        let benchAfter = cpuSeconds(pid: getpid())
        let tallies = clients.map { $0.tally.withLock { $0 } }
        for client in clients { await client.close() }

        let delivered = tallies.reduce(0) { $0 + $1.events }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var latencies = tallies.flatMap(\.latencies).sorted()
        if latencies.isEmpty { latencies = [0] }
        func percentile(_ p: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000 }
        var summary: [String: Any] = [
            "target": load.target.rawValue, "stream": load.stream.rawValue, "compression": load.compression.rawValue,
            "subscribers": subscribers, "events": events, "rate": load.rate,
            "delivered": delivered, "expected": expected, "lost": expected - delivered,
            "out_of_order": tallies.reduce(0) { $0 + $1.outOfOrder }, "gaps": tallies.reduce(0) { $0 + $1.gaps },
            "frames": tallies.reduce(0) { $0 + $1.frames },
            "seconds": seconds, "delivered_per_second": Double(delivered) / seconds,
            "latency_ms_p50": percentile(0.5), "latency_ms_p99": percentile(0.99), "latency_ms_max": percentile(1),
        ]
        if let cpuBefore, let cpuAfter {
            summary["broker_cpu_seconds"] = cpuAfter - cpuBefore
            summary["broker_cpu_us_per_delivered_event"] = (cpuAfter - cpuBefore) * 1e6 / Double(max(delivered, 1))
        }
        if let benchBefore, let benchAfter {
            let busy = (benchAfter - benchBefore) / seconds
            summary["bench_cpu_share"] = busy
            if busy > 0.9 { FileHandle.standardError.write(Data("warning: the bench itself was busy \(Int(busy * 100))% of a core: it may be the bottleneck\n".utf8)) }
        }
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        if delivered != expected { throw ExitCode(1) }
    }
}
