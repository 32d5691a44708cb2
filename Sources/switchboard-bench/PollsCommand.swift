import ArgumentParser
import Foundation
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `switchboard-bench polls`: N long-polls waiting on one topic, one publish, and how long
/// each poll took to answer after it.
///
/// The polls are raw NIO HTTP/1.1 connections (one request each), so holding 10,000 costs
/// the load tool little. With `--pid` it also reports the broker's RSS per waiting poll.
struct PollsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "polls", abstract: "Latency from one publish to N waiting long-polls answering.")

    @Option(help: "switchboard (`/v1/poll`) or nchan (`/lp/<topic>`, see bench/nchan.conf).") var target: Target = .switchboard
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Polls waiting at once.") var count = 10_000
    @Option(help: "The topic they wait on.") var topic = "bench.polls"
    @Option(help: "Seconds to let every poll settle into waiting before publishing.") var settle = 2.0
    @Option(help: "The broker's pid, to report its RSS per waiting poll.") var pid: Int32?
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let rssBefore = pid.flatMap { rssKiB(pid: $0) }
        let answers = AnswerLog(expected: count)
        var channels: [any Channel] = []
        channels.reserveCapacity(count)
        let connectStart = ContinuousClock.now
        for _ in 0..<count {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(AnswerRecorder(log: answers))
                    }
                }
                .connect(host: host, port: port).get()
            let path = target == .switchboard ? "/v1/poll?topics=\(topic)&timeout=120" : "/lp/\(topic)"
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Content-Length", value: "0")  // else NIO frames the GET as chunked, which nchan waits on
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            channels.append(channel)
        }
        let connectSeconds = (ContinuousClock.now - connectStart).seconds
        try await Task.sleep(for: .milliseconds(Int64(settle * 1000)))
        let early = answers.count
        let rssWaiting = pid.flatMap { rssKiB(pid: $0) }

        let cpuAtPublish = (pid.flatMap { cpuSeconds(pid: $0) }, cpuSeconds(pid: getpid()))
        let published = try await TestClient.withClient(host: host, port: port) { client in
            let start = nowMicros()
            // nginx refuses a request without a Host; the test client sends one only as the authority.
            let request = TestClient.Request(
                target.publishPath(topic), method: .post, authority: "\(host):\(port)",
                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"tick":1}"#)
            )
            let response = try await client.execute(request)
            return (start, response.status.code)
        }
        try await answers.waitForAll(timeout: .seconds(30))
        let brokerCPU = zip2(pid.flatMap { cpuSeconds(pid: $0) }, cpuAtPublish.0).map { ($0 - $1) * 1000 }
        let benchCPU = zip2(cpuSeconds(pid: getpid()), cpuAtPublish.1).map { ($0 - $1) * 1000 }
        for channel in channels { channel.close(promise: nil) }

        let delays = answers.times.map { Double($0 - published.0) / 1000 }.sorted()
        func percentile(_ p: Double) -> Double { delays.isEmpty ? .nan : delays[min(delays.count - 1, Int(Double(delays.count) * p))] }
        var rssPerPoll: Double?
        if let rssBefore, let rssWaiting { rssPerPoll = Double(rssWaiting - rssBefore) * 1024 / Double(count) }
        let summary: [String: Any] = [
            "polls": count, "answered": delays.count, "answered_before_publish": early, "publish_status": published.1,
            "connect_seconds": connectSeconds, "ms_p50": percentile(0.5), "ms_p99": percentile(0.99), "ms_max": delays.last ?? .nan,
            "ok_answers": answers.okCount, "rss_bytes_per_waiting_poll": rssPerPoll ?? NSNull(), "target": target.rawValue,
            "broker_cpu_ms": brokerCPU ?? NSNull(), "bench_cpu_ms": benchCPU ?? NSNull(),
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(count) polls waiting on \(topic) (connected in \(String(format: "%.1f", connectSeconds)) s; \(early) answered early)")
            print("after one publish: \(delays.count) answered (\(answers.okCount) with 200) — p50 \(String(format: "%.1f", percentile(0.5))) ms, p99 \(String(format: "%.1f", percentile(0.99))) ms, last \(String(format: "%.1f", delays.last ?? .nan)) ms")
            if let rssPerPoll { print("broker RSS per waiting poll: \(String(format: "%.0f", rssPerPoll)) bytes") }
            if let brokerCPU { print("broker CPU from the publish to the last answer: \(String(format: "%.0f", brokerCPU)) ms") }
            if let benchCPU { print("this tool's CPU meanwhile: \(String(format: "%.0f", benchCPU)) ms") }
        }
    }
}

/// Both values, when both exist.
func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// When each poll's answer ended, µs since the Unix epoch.
final class AnswerLog: Sendable {
    private struct State {
        var times: [Int64] = []
        var ok = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let expected: Int

    init(expected: Int) { self.expected = expected }

    var count: Int { state.withLock { $0.times.count } }
    var okCount: Int { state.withLock { $0.ok } }
    var times: [Int64] { state.withLock { $0.times } }

    func record(ok: Bool) {
        let time = nowMicros()
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.times.append(time)
            if ok { state.ok += 1 }
            guard state.times.count >= expected else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once every expected answer arrived, or after `timeout`.
    func waitForAll(timeout: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.state.withLock { state in
                        if state.times.count >= self.expected { return true }
                        state.waiter = continuation
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try await Task.sleep(for: timeout) }
            _ = try await group.next()
            group.cancelAll()
            let pending = self.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            pending?.resume()
        }
    }
}

/// Records when a poll's response ended.
final class AnswerRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let log: AnswerLog
    private let status = Mutex<UInt>(0)

    init(log: AnswerLog) { self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status.withLock { $0 = head.status.code }
        case .body: break
        case .end: log.record(ok: status.withLock { $0 } == 200)
        }
    }
}

/// A process's resident set size in KiB, from /proc.
func rssKiB(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
