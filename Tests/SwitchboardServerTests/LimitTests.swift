import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// Each limit hit on purpose, answered as documented, while another client keeps being served.
@Suite(.serialized) struct LimitTests {
    @Test func connectionsInTotal() async throws {
        try await withBroker(BrokerConfiguration(maxConnections: 2)) { broker in
            let first = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            let second = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            try await eventually("registered") { broker.broker.state.connectionCount == 2 }
            await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: broker.wsURL + "?topics=t") }
            try await broker.http { http in
                let refused = try await http.get("/v1/ws?topics=t")
                #expect(refused.status == .tooManyRequests && refused.errorCode == "limit_reached")
                try await broker.publish("t", "1", client: http)
            }
            try await broker.http { http in
                let upgrade = try await http.get("/v1/ws?topics=t", headers: BadInputTests.upgradeHeaders)
                #expect(upgrade.status == .tooManyRequests && upgrade.errorCode == "limit_reached")
            }
            try await eventually("others served") { first.seqs("t") == [1] && second.seqs("t") == [1] }
            try await second.close()
            try await eventually("unregistered") { broker.broker.state.connectionCount == 1 }
            let third = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            try await eventually("a freed slot is usable") { !third.controls(type: "subscribed").isEmpty }
            try await first.close()
            try await third.close()
        }
    }

    @Test func connectionsPerIPAddress() async throws {
        try await withBroker(BrokerConfiguration(maxConnections: 100, maxConnectionsPerIP: 1)) { broker in
            let first = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            try await eventually("registered") { broker.broker.state.connectionCount == 1 }
            await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: broker.wsURL) }
            try await broker.http { http in
                let refused = try await http.get("/v1/ws")
                #expect(refused.status == .tooManyRequests && refused.errorCode == "limit_reached")
                #expect(refused.bodyText.contains("address"))
                try await broker.publish("t", "1", client: http)
            }
            try await eventually("the first is still served") { first.seqs("t") == [1] }
            try await first.close()
        }
    }

    @Test func publishRatePerCredential() async throws {
        let configuration = BrokerConfiguration(
            publishRate: 1, publishBurst: 2, credentials: .init(adminToken: "root", publishTokens: ["feed-a", "feed-b"])
        )
        try await withBroker(configuration) { broker in
            try await broker.http { http in
                func post(_ token: String) async throws -> TestClient.Response {
                    try await http.post("/v1/topics/t", headers: TestTokens.bearer(token), body: ByteBuffer(string: "x"))
                }
                #expect(try await post("feed-a").status == .ok)
                #expect(try await post("feed-a").status == .ok)
                let limited = try await post("feed-a")
                #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
                #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
                // Another credential has its own bucket. A batch counts each of its events, and one
                // larger than the burst is let through when the bucket is full, leaving it in debt.
                var headers = TestTokens.bearer("feed-b")
                headers[.contentType] = "application/json"
                let batch = #"{"events":[{"topic":"t","data":1},{"topic":"t","data":2},{"topic":"t","data":3}]}"#
                let big = try await http.post("/v1/publish", headers: headers, body: ByteBuffer(string: batch))
                #expect(big.status == .ok)
                #expect(try await post("feed-b").status == .tooManyRequests)
                #expect(try await post("root").status == .ok)
            }
        }
    }

    @Test func anonymousPublishersAreLimitedPerIPAddress() async throws {
        try await withBroker(BrokerConfiguration(publishRate: 1, publishBurst: 1)) { broker in
            let subscriber = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            try await eventually("subscribed") { !subscriber.controls(type: "subscribed").isEmpty }
            try await broker.http { http in
                try await broker.publish("t", "1", client: http)
                let limited = try await http.post("/v1/topics/t", body: ByteBuffer(string: "2"))
                #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            }
            try await eventually("the subscriber got the one that passed") { subscriber.seqs("t") == [1] }
            try await subscriber.close()
        }
    }

    @Test func subscriptionsPerConnection() async throws {
        try await withBroker(BrokerConfiguration(maxSubscriptionsPerConnection: 2)) { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=a,b")
            try await client.send(#"{"op":"subscribe","topic":"c","id":9}"#)
            try await eventually("refused") { !client.controls(type: "error").isEmpty }
            #expect(client.controls(type: "error").first?["code"] as? String == "limit_reached")
            #expect(client.controls(type: "error").first?["id"] as? Int == 9)
            try await broker.http { http in try await broker.publish("a", "1", client: http) }
            try await eventually("still served") { client.seqs("a") == [1] }
            try await client.close()
        }
    }

    @Test func theBucketRefillsAtTheRate() async throws {
        let limiter = PublishRateLimiter(rate: 20, burst: 1)
        try limiter.take(1, for: "k")
        do {
            try limiter.take(1, for: "k")
            Issue.record("the empty bucket let a publish through")
        } catch {
            #expect(error.code == "rate_limited" && error.retryAfter == 1)
        }
        try limiter.take(1, for: "other")
        try await Task.sleep(for: .milliseconds(120))
        try limiter.take(1, for: "k")
        let off = PublishRateLimiter(rate: 0, burst: 0)
        for _ in 0..<1000 { try off.take(100, for: "k") }
    }

    @Test func limitSettingsComeFromEveryLayer() throws {
        let defaults = BrokerConfiguration()
        #expect(defaults.maxConnections == 10_000 && defaults.maxConnectionsPerIP == 1000)
        #expect(defaults.publishRate == 0 && defaults.publishBurst == 0)
        let configuration = try Settings.apply([
            Settings.environmentLayer(["SWITCHBOARD_MAX_CONNECTIONS": "5", "SWITCHBOARD_PUBLISH_RATE": "10", "SWITCHBOARD_PUBLISH_TOKEN": "a, b"]),
            ["max_connections_per_ip": ["2"], "publish_burst": ["20"]],
        ])
        #expect(configuration.maxConnections == 5 && configuration.maxConnectionsPerIP == 2)
        #expect(configuration.publishRate == 10 && configuration.publishBurst == 20)
        #expect(configuration.credentials.publishTokens == ["a", "b"])
        #expect(throws: ConfigurationError.self) { try Settings.apply([["max_connections": ["0"]]]) }
    }

    @Test func batchBodyOverTheLimit() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let limit = 16 * 1_048_576
                let body = ByteBuffer(repeating: UInt8(ascii: " "), count: limit + 1)
                let response = try await http.post("/v1/publish", headers: [.contentType: "application/json"], body: body)
                #expect(response.status == .contentTooLarge && response.errorCode == "payload_too_large")
            }
            try await broker.http { http in try await broker.publish("t", "1", client: http) }
        }
    }
}
