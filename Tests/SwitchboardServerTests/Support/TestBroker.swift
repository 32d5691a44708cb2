import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import Testing

/// A broker running on 127.0.0.1 with a real port, for one test.
struct RunningBroker: Sendable {
    let port: Int
    let broker: Broker
    let group: ServiceGroup

    var wsURL: String { "ws://127.0.0.1:\(port)/v1/ws" }

    /// Runs `body` with a keep-alive HTTP client connected to the broker.
    @discardableResult
    func http<T: Sendable>(_ body: @escaping @Sendable (TestClient) async throws -> T) async throws -> T {
        try await TestClient.withClient(host: "127.0.0.1", port: port, operation: body)
    }

    /// Publishes one event and returns the JSON answer's text.
    @discardableResult
    func publish(_ topic: String, _ payload: String, type: String = "application/json", client: TestClient) async throws -> String {
        let response = try await client.post("/v1/topics/\(topic)", headers: [.contentType: type], body: ByteBuffer(string: payload))
        #expect(response.status == .ok, "publish: \(response.bodyText)")
        return response.bodyText
    }

    /// Starts the graceful shutdown the process runs on SIGTERM.
    func shutDown() async { await group.triggerGracefulShutdown() }
}

extension TestClient.Response {
    var bodyText: String { body.map { String(buffer: $0) } ?? "" }
    var json: [String: Any] { parseJSON(bodyText) }
    /// The contract's `error.code`.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// Starts a broker on a free port, runs `body`, and shuts it down.
func withBroker(
    _ configuration: BrokerConfiguration = BrokerConfiguration(),
    _ body: @escaping @Sendable (RunningBroker) async throws -> Void
) async throws {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    var logger = Logger(label: "test-broker")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    let broker = try Broker(configuration: configuration, logger: logger)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let group = ServiceGroup(configuration: .init(
        services: broker.services { _, port in continuation.yield(port) },
        logger: logger
    ))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        let running = RunningBroker(port: port, broker: broker, group: group)
        do {
            try await body(running)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Polls `condition` until it holds or `timeout` passes; records a failure on timeout.
func eventually(
    _ what: String, timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// Parses a JSON object; an empty dictionary when the text is not one.
func parseJSON(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

/// Records a failure unless each topic's seqs are exactly 1...`perTopic`, in order, each once.
func expectEveryEventOnceInOrder(_ seen: [String: [Int]], topics: [String], perTopic: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    for topic in topics {
        let seqs = seen[topic] ?? []
        #expect(seqs.count == perTopic, "\(topic): \(seqs.count) events", sourceLocation: sourceLocation)
        let inOrder = seqs.enumerated().allSatisfy { $0.offset + 1 == $0.element }
        #expect(inOrder, "\(topic): every event once, in order from 1", sourceLocation: sourceLocation)
    }
}
