import ArgumentParser
import Foundation
import HummingbirdTesting
import NIOCore

/// Bytes on the wire per event for one subscriber of a realistic stream.
struct WireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wire", abstract: "Bytes on the wire per delivered event (one subscriber), measured with ss on the server's socket.")

    @Option(help: "switchboard or nchan.") var target: Target = .switchboard
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "ticker or dashboard.") var stream: String = "ticker"
    @Option(help: "none, zstd (switchboard) or deflate (nchan).") var compression: Compression = .none
    @Option(help: "Events to publish.") var events = 2000
    @Option(help: "Events per second (0: as fast as possible).") var rate = 200

    func run() async throws {
        guard let stream = Stream(rawValue: stream) else { throw ValidationError("stream must be ticker or dashboard") }
        let topic = "wire\(Int.random(in: 0..<1_000_000))"
        let subscriber = CountingSubscriber(target: target, recordLatency: false)
        try await subscriber.connect(url: target.subscribeURL(host: host, port: port, topic: topic, compression: compression), compression: compression)
        while !subscriber.tally.withLock({ $0.subscribed }) { try await Task.sleep(for: .milliseconds(5)) }
        let before = serverBytesAcked(port: port)
        var generator = stream.makeGenerator()
        var payloadBytes = 0
        var publisherPort = -1
        let client = TestClient(host: host, port: port)
        client.connect()
        publisherPort = try await client.channelPromise.futureResult.get().localAddress?.port ?? -1
        do {
            let interval = rate > 0 ? Duration.microseconds(1_000_000 / rate) : .zero
            let clock = ContinuousClock()
            var next = clock.now
            for _ in 0..<events {
                let payload = generator.next(sentAt: nowMicros())
                payloadBytes += payload.utf8.count
                let response = try await client.execute(.init(target.publishPath(topic), method: .post, authority: "\(host):\(port)", headers: [.contentType: "application/json"], body: ByteBuffer(string: payload)))
                guard response.status.code < 300 else { throw ValidationError("publish failed: \(response.status)") }
                if rate > 0 {
                    next = next.advanced(by: interval)
                    try await Task.sleep(until: next, clock: clock)
                }
            }
        }
        try? await client.shutdown()
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while subscriber.tally.withLock({ $0.events }) < events, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))  // let the last ACKs land
        let after = serverBytesAcked(port: port)
        let tally = subscriber.tally.withLock { $0 }
        await subscriber.close()
        // Everything the server sent on connections other than the publisher's went to the subscriber.
        let wire = after.filter { $0.key != publisherPort }.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        let summary: [String: Any] = [
            "target": target.rawValue, "stream": stream.rawValue, "compression": compression.rawValue,
            "events": events, "received": tally.events, "frames": tally.frames,
            "payload_bytes_per_event": Double(payloadBytes) / Double(events),
            "wire_bytes_per_event": Double(wire) / Double(max(tally.events, 1)),
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        if tally.events != events { throw ExitCode(1) }
    }
}
