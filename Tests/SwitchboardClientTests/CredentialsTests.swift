import Foundation
import SwitchboardClient
import SwitchboardServer
import Testing

/// Credentials: token providers, refusals, and closes that mean "stop".
@Suite struct CredentialsClientTests {
    func jwtBroker() -> BrokerConfiguration {
        BrokerConfiguration(credentials: .init(adminToken: adminToken, jwtSecret: TestTokens.secret))
    }

    @Test func tokenProviderIsCalledAtConnectAndBeforeExpiry() async throws {
        try await withBroker(jwtBroker()) { broker in
            let topic = topicName("provider")
            let calls = Counter()
            let client = SwitchboardClient(url: broker.url, tokenProvider: {
                _ = calls.increment()
                // Expires in 3 s: the client fetches the next one a second before and reconnects.
                return try await TestTokens.hs256(publish: ["swift.*"], subscribe: ["swift.*"], exp: Date().addingTimeInterval(3))
            }, configuration: fastConfiguration())
            let subscription = client.subscribe(topic)
            let received = Collector.start(subscription)
            try await eventually("subscribed") { subscription.position.seq != nil }
            try await client.publish(topic, text: "1")
            try await eventually("a refresh", timeout: .seconds(8)) { calls.count >= 2 }
            try await waitFor(.connected, client)
            try await client.publish(topic, text: "2")
            #expect(seqs(try await received.wait(for: 2)) == [1, 2])
            #expect(received.items.count == 2)
            await client.close()
        }
    }

    @Test func aRefusedTokenStopsAndTellsTheApplication() async throws {
        try await withBroker(jwtBroker()) { broker in
            let calls = Counter()
            let client = SwitchboardClient(url: broker.url, tokenProvider: {
                _ = calls.increment()
                return try await TestTokens.hs256(secret: "another-secret-that-is-32-bytes-long!", subscribe: ["*"])
            }, configuration: fastConfiguration())
            let received = Collector.start(client.subscribe(topicName("refused")))
            guard case .failed(.unauthorized) = try await received.waitForEnd() else {
                Issue.record("expected unauthorized, got \(String(describing: received.ending))")
                return
            }
            #expect(client.state == .closed)
            if case .unauthorized? = client.error {} else { Issue.record("error: \(String(describing: client.error))") }
            try await Task.sleep(for: .milliseconds(300))
            #expect(calls.count == 1, "no reconnection after 401")
            let anonymous = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            do {
                try await anonymous.publish("a", text: "x")
                Issue.record("published without credentials")
            } catch SwitchboardError.unauthorized {}
            let forbidden = SwitchboardClient(url: broker.url, token: try await TestTokens.hs256(subscribe: ["other.*"]), configuration: quietConfiguration())
            let refused = Collector.start(forbidden.subscribe(topicName("forbidden")))
            guard case .failed(.broker("forbidden", _, nil, nil)) = try await refused.waitForEnd() else {
                Issue.record("expected forbidden, got \(String(describing: refused.ending))")
                return
            }
            #expect(forbidden.state == .connected)  // a refused subscription leaves the connection
            await forbidden.close()
            await client.close()
        }
    }

    @Test func noTokenAtAllIsRefused() async throws {
        try await withBroker(jwtBroker()) { broker in
            let client = SwitchboardClient(url: broker.url, configuration: fastConfiguration())
            let received = Collector.start(client.subscribe(topicName("anonymous")))
            guard case .failed(.unauthorized) = try await received.waitForEnd() else {
                Issue.record("expected unauthorized, got \(String(describing: received.ending))")
                return
            }
            #expect(client.state == .closed)
        }
    }

    /// A static JWT cannot be renewed: when it expires the broker closes with 1008, and the client
    /// stops and says why instead of reconnecting with a token that no longer works.
    @Test func anExpiredStaticTokenClosesWith1008AndStops() async throws {
        try await withBroker(jwtBroker()) { broker in
            let token = try await TestTokens.hs256(subscribe: ["swift.*"], exp: Date().addingTimeInterval(2))
            let client = SwitchboardClient(url: broker.url, token: token, configuration: fastConfiguration())
            let received = Collector.start(client.subscribe(topicName("expiring")))
            try await waitFor(.connected, client)
            guard case .failed(.closedByBroker(code: 1008, _)) = try await received.waitForEnd(timeout: .seconds(8)) else {
                Issue.record("expected a close with 1008, got \(String(describing: received.ending))")
                return
            }
            #expect(client.state == .closed)
        }
    }

    @Test func closedByAnOperatorIsFinal() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: fastConfiguration())
            let received = Collector.start(client.subscribe(topicName("operator")))
            try await eventually("one connection") { try await broker.wsConnections().count == 1 }
            let id = try await broker.wsConnections()[0].id
            #expect(try await broker.admin(.delete, "/v1/admin/connections/\(id)").status == 204)
            guard case .failed(.closedByBroker(code: 1008, _)) = try await received.waitForEnd() else {
                Issue.record("expected a close with 1008, got \(String(describing: received.ending))")
                return
            }
            #expect(client.state == .closed)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await broker.wsConnections().isEmpty, "no reconnection after 1008")
            await client.close()
        }
    }
}
