import ArgumentParser
import Foundation
import HummingbirdTesting
import NIOCore

/// Bytes on the wire per event for one subscriber of a realistic stream.
struct WireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wire", abstract: "Bytes on the wire per delivered event (one subscriber), measured with ss on the server's socket.")

    @OptionGroup var load: LoadOptions

    func run() async throws {
        let topic = "wire\(Int.random(in: 0..<1_000_000))"
        let subscriber = CountingSubscriber(target: load.target, recordLatency: false)
        try await subscriber.connect(url: load.subscribeURL(topic: topic), compression: load.compression)
        while !subscriber.tally.withLock({ $0.subscribed }) { try await Task.sleep(for: .milliseconds(5)) }
        let before = serverBytesAcked(port: load.port)
        let published = try await load.publish(topic: topic)
        let events = load.events
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while subscriber.tally.withLock({ $0.events }) < events, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))  // let the last ACKs land
        let after = serverBytesAcked(port: load.port)
        let tally = subscriber.tally.withLock { $0 }
        await subscriber.close()
        // Everything the server sent on connections other than the publisher's went to the subscriber.
        let wire = after.filter { $0.key != published.localPort }.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        let summary: [String: Any] = [
            "target": load.target.rawValue, "stream": load.stream.rawValue, "compression": load.compression.rawValue,
            "events": events, "received": tally.events, "frames": tally.frames,
            "payload_bytes_per_event": Double(published.payloadBytes) / Double(events),
            "wire_bytes_per_event": Double(wire) / Double(max(tally.events, 1)),
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        if tally.events != events { throw ExitCode(1) }
    }
}
