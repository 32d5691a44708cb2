import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// The broker's memory per idle WebSocket subscriber: N connections, one topic each, and the
/// broker's RSS before and after (once it has settled).
struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Open N idle WebSocket subscribers, one topic each, and report the broker's RSS per connection.",
        discussion: "One JSON object on stdout; a human line on stderr. Needs --pid of the process that holds the connections (nchan: the worker)."
    )

    @Option(help: "switchboard or nchan.") var target: Target = .switchboard
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Idle subscribers to open.") var connections = 10_000
    @Option(help: "The broker's process id, to read its RSS from /proc.") var pid: Int32
    @Option(help: "Most seconds to wait for the broker's RSS to settle.") var settle = 10.0

    func run() async throws {
        raiseFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        do {
            try await measure(on: loop)
            try? await group.shutdownGracefully()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func measure(on loop: any EventLoop) async throws {
        guard let before = rssKiB(pid: pid) else { throw ValidationError("no process \(pid)") }
        let tally = try await loop.submit { NIOLoopBound(try DeliveryTally(), eventLoop: loop) }.get()
        let run = Int.random(in: 0..<1_000_000)
        let (target, authority) = (self.target, "\(host):\(port)")
        let set = await SubscriberSet.open(count: connections, host: host, port: port, loop: loop, tally: tally) { index in
            let topic = "idle\(run)-\(index)"
            return SubscriberRequest(
                target: target, authority: authority,
                path: target == .switchboard ? "/v1/ws?topics=\(topic)" : "/sub/\(topic)", zstd: false
            )
        }
        for failure in set.failures { warn("subscriber failed: \(failure)") }
        let after = try await settledRSS()
        let closedByBroker = try await loop.submit { tally.value.closedByBroker }.get()
        await set.close(tally: tally, loop: loop)

        let open = set.channels.count - closedByBroker
        let perConnection = Double(after - before) / Double(max(open, 1))
        let summary: [String: Any] = [
            "target": target.rawValue, "connections": connections, "subscribed": set.channels.count,
            "closed_by_broker": closedByBroker, "connect_seconds": set.seconds,
            "rss_before_kib": before, "rss_after_kib": after, "kib_per_connection": perConnection,
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        emit(String(decoding: json, as: UTF8.self))
        warn("\(target.rawValue): \(open) idle subscribers · RSS \(before) → \(after) KiB · \(String(format: "%.2f", perConnection)) KiB per connection")
        if open != connections { throw ExitCode(1) }
    }

    /// The broker's RSS once it stopped moving by more than 1% over a second, or after `settle` seconds.
    private func settledRSS() async throws -> Int {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(settle * 1000)))
        var last = rssKiB(pid: pid) ?? 0
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            let now = rssKiB(pid: pid) ?? 0
            if abs(now - last) * 100 <= max(last, 1) { return now }
            last = now
        }
        return last
    }
}
