import ArgumentParser
import HummingbirdTesting
import NIOCore

/// The options every load shares: which broker, which stream, how much and how fast.
struct LoadOptions: ParsableArguments {
    @Option(help: "switchboard or nchan.") var target: Target = .switchboard
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "ticker or dashboard.") var stream: Stream = .ticker
    @Option(help: "none or zstd (switchboard), none or deflate (nchan).") var compression: Compression = .none
    @Option(help: "Events to publish.") var events = 2000
    @Option(help: "Events per second (0: as fast as one keep-alive publisher can).") var rate = 100

    /// The subscribe URL for `topic`.
    func subscribeURL(topic: String) -> String {
        target.subscribeURL(host: host, port: port, topic: topic, compression: compression)
    }

    /// What a publishing run did.
    struct Published {
        /// The publisher's local port, so its connection can be told apart on the server.
        var localPort: Int
        /// Payload bytes published.
        var payloadBytes: Int
    }

    /// Publishes `events` generated payloads to `topic` over one keep-alive connection, paced at `rate`.
    func publish(topic: String) async throws -> Published {
        var generator = stream.makeGenerator()
        let client = TestClient(host: host, port: port)
        client.connect()
        var published = Published(localPort: try await client.channelPromise.futureResult.get().localAddress?.port ?? -1, payloadBytes: 0)
        let interval = rate > 0 ? Duration.microseconds(1_000_000 / rate) : .zero
        let clock = ContinuousClock()
        var next = clock.now
        do {
            for _ in 0..<events {
                let payload = generator.next(sentAt: nowMicros())
                published.payloadBytes += payload.utf8.count
                let request = TestClient.Request(
                    target.publishPath(topic), method: .post, authority: "\(host):\(port)",
                    headers: [.contentType: "application/json"], body: ByteBuffer(string: payload)
                )
                let response = try await client.execute(request)
                guard response.status.code < 300 else { throw ValidationError("publish failed: \(response.status)") }
                if rate > 0 {
                    next = next.advanced(by: interval)
                    try await Task.sleep(until: next, clock: clock)
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        return published
    }
}

extension Stream: ExpressibleByArgument {}
