import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// Many subscribers on one topic: events delivered per second, publish → receive latency,
/// exactly-once-in-order checks, and whose CPU ran out (the broker's or this tool's).
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "N WebSocket subscribers of one topic; publish at a fixed or maximal rate; report deliveries, latency and CPU.",
        discussion: "One JSON object on stdout; a human table on stderr. Exit status 1 when an event was lost, repeated or reordered."
    )

    @OptionGroup var load: LoadOptions
    @Option(help: "The broker's process id, to read its CPU time from /proc.") var pid: Int32?
    @Option(help: "WebSocket subscribers of the topic.") var subscribers = 1000
    @Option(help: ArgumentHelp(
        "Keep-alive publisher connections, each with one publish in flight.",
        discussion: "At --rate 0 each sends its next event when the previous was answered. At a fixed rate they bound the publishes in flight: an event goes out when it is due on any idle connection (open loop), so give enough to cover the broker's slowest answers (rate × answer time)."
    )) var publishers = 1
    @Option(help: "Seconds to publish for: with --rate 0 until then; with a rate, rate × duration events (overrides --events).") var duration = 0.0
    @Option(help: "Seconds without a new delivery before the run stops waiting for the rest.") var drain = 3.0
    @Option(help: ArgumentHelp(
        "Bytes that must wait on a subscriber socket before it is read (SO_RCVLOWAT); 0 reads each frame as it comes.",
        discussion: "Batching reads cuts this tool's CPU per event several times at high rates; latency then includes the batching, so use it for throughput only."
    )) var readBatchBytes = 0

    func run() async throws {
        if load.compression == .deflate { return try await runWithWSClient() }
        raiseFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let summary = try await measure(on: group.next())
            try? await group.shutdownGracefully()
            try summary.print()
            if !summary.clean { throw ExitCode(1) }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func measure(on loop: any EventLoop) async throws -> FanoutSummary {
        let topic = "fan\(Int.random(in: 0..<1_000_000))"
        let request = SubscriberRequest(
            target: load.target, authority: "\(load.host):\(load.port)",
            path: load.target == .switchboard ? "/v1/ws?topics=\(topic)" : "/sub/\(topic)", zstd: load.compression == .zstd
        )
        let reader = try EpollSubscribers(tally: DeliveryTally(), readBatchBytes: readBatchBytes)
        do {
            return try await measure(reader: reader, request: request, topic: topic, on: loop)
        } catch {
            reader.stop()
            throw error
        }
    }

    private func measure(reader: EpollSubscribers, request: SubscriberRequest, topic: String, on loop: any EventLoop) async throws -> FanoutSummary {
        let set = try await reader.open(count: subscribers, host: load.host, port: load.port) { _ in request }
        for failure in set.failures { warn("subscriber failed: \(failure)") }
        guard set.subscribed > 0 else { throw ValidationError("no subscriber could subscribe") }
        try await Task.sleep(for: .milliseconds(200))

        let plan = PublishDriver.Plan(
            target: load.target, host: load.host, port: load.port, topic: topic, stream: load.stream,
            publishers: max(1, publishers), rate: load.rate, events: load.events, duration: duration
        )
        let driver = try await loop.submit { NIOLoopBound(PublishDriver(plan: plan, loop: loop), eventLoop: loop) }.get()
        try await PublishDriver.connect(driver, plan: plan, loop: loop)
        let before = CPUSample(brokerPID: pid)
        let done = try await loop.submit {
            driver.value.start()
            return driver.value.done.futureResult
        }.get()
        try await done.get()
        if readBatchBytes > 1 { reader.endReadBatch() }
        let published = try await loop.submit { driver.value.counts }.get()

        // Wait for the last deliveries: until all arrived, or nothing new came for `drain` seconds.
        let expected = published.acked * set.subscribed
        var after = CPUSample(brokerPID: pid)
        var seen = -1
        var quietSince = ContinuousClock.now
        while true {
            let delivered = reader.withTally { $0.delivered + $0.duplicates }
            if delivered != seen {
                seen = delivered
                quietSince = .now
                after = CPUSample(brokerPID: pid)
            }
            if delivered >= expected || ContinuousClock.now - quietSince > .milliseconds(Int64(drain * 1000)) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let counts = reader.withTally { $0.snapshot }
        try? await loop.submit { driver.value.close() }.get()
        reader.stop()
        return FanoutSummary(
            command: self, subscribers: set.subscribed, subscribeFailed: subscribers - set.subscribed,
            connectSeconds: set.seconds, published: published, expected: expected, counts: counts, cpu: after.since(before)
        )
    }
}

/// Raises this process's open-file soft limit to its hard limit (10,000 connections need it).
func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Writes a line to standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes a line to standard output at once (the JSON a script waits for).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
