import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwitchboardClient
import SwitchboardServer
import Synchronization
import Testing

/// The admin token of the brokers these tests start with credentials.
let adminToken = "admin-secret-for-client-tests"

/// A unique topic name for one test.
func topicName(_ prefix: String) -> String { "swift.\(prefix).\(UInt32.random(in: 0...UInt32.max))" }

extension RunningBroker {
    /// The broker's `http://127.0.0.1:<port>`.
    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Sends one admin request with the admin token; the status and the answer's JSON.
    @discardableResult
    func admin(_ method: HTTPRequest.Method, _ path: String, body: String? = nil) async throws -> (status: Int, json: [String: Any]) {
        let response = try await http { client in
            try await client.execute(.init(
                path, method: method,
                headers: [.authorization: "Bearer \(adminToken)", .contentType: "application/json"],
                body: body.map { ByteBuffer(string: $0) }
            ))
        }
        return (Int(response.status.code), parseJSON(response.bodyText))
    }

    /// The ids of the open WebSocket connections and their subscriptions.
    func wsConnections() async throws -> [(id: String, subscriptions: [String])] {
        let (_, json) = try await admin(.get, "/v1/admin/connections")
        let connections = json["connections"] as? [[String: Any]] ?? []
        return connections.filter { $0["transport"] as? String == "ws" }.map { connection in
            let id = connection["id"].map { "\($0)" } ?? ""
            return (id, connection["subscriptions"] as? [String] ?? [])
        }
    }
}

/// A configuration that logs only what `TEST_LOG_LEVEL` asks (default: errors).
func quietConfiguration() -> SwitchboardClient.Configuration {
    var configuration = SwitchboardClient.Configuration()
    configuration.logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .error
    return configuration
}

/// A configuration that reconnects fast, for tests that cut connections.
func fastConfiguration(compression: SwitchboardClient.Configuration.Compression = .zstd) -> SwitchboardClient.Configuration {
    var configuration = quietConfiguration()
    configuration.minReconnectDelay = .milliseconds(20)
    configuration.maxReconnectDelay = .milliseconds(200)
    configuration.closeTimeout = .seconds(2)
    configuration.compression = compression
    return configuration
}

/// A broker configuration with the admin token set (so admin calls take credentials, as in production).
func brokerWithAdmin(pingIntervalSeconds: Int = 20) -> BrokerConfiguration {
    BrokerConfiguration(pingIntervalSeconds: pingIntervalSeconds, credentials: .init(adminToken: adminToken))
}

/// Iterates a subscription in a task of its own, as an application would, keeping what it got.
final class Collector: Sendable {
    /// How iteration ended.
    enum Ending: Equatable, Sendable {
        /// It returned nil.
        case finished
        /// It threw.
        case failed(SwitchboardError)
    }

    private let received = Mutex<[SwitchboardClient.Item]>([])
    private let end = Mutex<Ending?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts iterating `subscription`.
    static func start(_ subscription: SwitchboardClient.Subscription) -> Collector {
        let collector = Collector()
        collector.task.withLock {
            $0 = Task {
                do {
                    for try await item in subscription { collector.received.withLock { $0.append(item) } }
                    collector.end.withLock { $0 = .finished }
                } catch let error as SwitchboardError {
                    collector.end.withLock { $0 = .failed(error) }
                } catch {
                    collector.end.withLock { $0 = .failed(.invalidResponse("\(error)")) }
                }
            }
        }
        return collector
    }

    /// Everything received so far.
    var items: [SwitchboardClient.Item] { received.withLock { $0 } }

    /// How iteration ended, once it did.
    var ending: Ending? { end.withLock { $0 } }

    /// Waits until at least `count` items arrived; returns them all.
    @discardableResult
    func wait(for count: Int, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async throws -> [SwitchboardClient.Item] {
        try await eventually("\(count) items (have \(items.count))", timeout: timeout, sourceLocation: sourceLocation) { self.items.count >= count }
        return items
    }

    /// Waits until iteration ended; returns how.
    func waitForEnd(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async throws -> Ending {
        try await eventually("the end of iteration", timeout: timeout, sourceLocation: sourceLocation) { self.ending != nil }
        return ending!
    }

    /// Stops iterating.
    func cancel() { task.withLock { $0?.cancel() } }
}

/// Waits until `client` reaches `state`.
func waitFor(_ state: SwitchboardClient.ConnectionState, _ client: SwitchboardClient, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await eventually("state \(state)", timeout: timeout, sourceLocation: sourceLocation) { client.state == state }
}

/// Iterates any async sequence in a task, keeping its values.
final class Collector2<Value: Sendable>: Sendable {
    private let state = Mutex<(values: [Value], finished: Bool)>(([], false))

    /// Starts iterating `sequence`.
    static func start<S: AsyncSequence & Sendable>(_ sequence: S) -> Collector2 where S.Element == Value {
        let collector = Collector2()
        Task {
            do { for try await value in sequence { collector.state.withLock { $0.values.append(value) } } } catch {}
            collector.state.withLock { $0.finished = true }
        }
        return collector
    }

    /// The values so far.
    var values: [Value] { state.withLock { $0.values } }
    /// Whether the sequence ended.
    var finished: Bool { state.withLock { $0.finished } }
}
