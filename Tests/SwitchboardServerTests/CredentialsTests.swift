import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

/// Every path with credentials configured, over real sockets: no token → 401, a token without
/// the right pattern → 403, an expired token → 401, the right token → allowed.
@Suite(.serialized) struct CredentialsTests {
    static let configuration = BrokerConfiguration(credentials: .init(jwtSecret: TestTokens.secret))
    static var expired: Date { Date().addingTimeInterval(-60) }

    @Test func publish() async throws {
        let right = try await TestTokens.hs256(publish: ["stocks.*"])
        let wrong = try await TestTokens.hs256(publish: ["nba.*"], subscribe: ["*"])
        let expired = try await TestTokens.hs256(publish: ["stocks.*"], exp: Self.expired)
        try await withBroker(Self.configuration) { broker in
            try await broker.http { http in
                func post(_ headers: HTTPFields, path: String = "/v1/topics/stocks.AAPL") async throws -> TestClient.Response {
                    try await http.post(path, headers: headers, body: ByteBuffer(string: "1"))
                }
                let none = try await post([:])
                #expect(none.status == .unauthorized && none.errorCode == "unauthorized")
                #expect(none.headers[.wwwAuthenticate] == "Bearer")
                let forbidden = try await post(TestTokens.bearer(wrong))
                #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden")
                #expect(try await post(TestTokens.bearer(expired)).status == .unauthorized)
                #expect(try await post(TestTokens.bearer("not.a.jwt")).status == .unauthorized)
                // Publishing takes the token from the header only.
                #expect(try await post([:], path: "/v1/topics/stocks.AAPL?token=\(right)").status == .unauthorized)
                // The prefix pattern does not cover the bare prefix.
                #expect(try await post(TestTokens.bearer(right), path: "/v1/topics/stocks").status == .forbidden)
                let ok = try await post(TestTokens.bearer(right))
                #expect(ok.status == .ok && ok.json["seq"] as? Int == 1, "nothing refused was published")
            }
        }
    }

    @Test func batchChecksEveryEntryAndPublishesNothingWhenOneIsForbidden() async throws {
        let right = try await TestTokens.hs256(publish: ["a.*", "b"])
        let expired = try await TestTokens.hs256(publish: ["*"], exp: Self.expired)
        let body = #"{"events":[{"topic":"a.x","data":1},{"topic":"b","data":2},{"topic":"c","data":3},{"topic":"d","data":4}]}"#
        let allowed = #"{"events":[{"topic":"a.x","data":1},{"topic":"b","data":2}]}"#
        try await withBroker(Self.configuration) { broker in
            try await broker.http { http in
                func post(_ body: String, _ headers: HTTPFields) async throws -> TestClient.Response {
                    var headers = headers
                    headers[.contentType] = "application/json"
                    return try await http.post("/v1/publish", headers: headers, body: ByteBuffer(string: body))
                }
                #expect(try await post(body, [:]).status == .unauthorized)
                #expect(try await post(body, TestTokens.bearer(expired)).status == .unauthorized)
                let forbidden = try await post(body, TestTokens.bearer(right))
                #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden")
                #expect((forbidden.json["error"] as? [String: Any])?["index"] as? Int == 2, "the first forbidden entry")
                // A malformed entry before the forbidden one answers first.
                let malformed = try await post(#"{"events":[{"topic":"a.x"},{"topic":"c","data":3}]}"#, TestTokens.bearer(right))
                #expect(malformed.status == .badRequest && (malformed.json["error"] as? [String: Any])?["index"] as? Int == 0)
                let ok = try await post(allowed, TestTokens.bearer(right))
                #expect(ok.status == .ok)
                #expect((ok.json["results"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [1, 1], "the refused batches published nothing")
            }
        }
    }

    @Test func webSocketUpgrade() async throws {
        let right = try await TestTokens.hs256(subscribe: ["stocks.*"])
        let wrong = try await TestTokens.hs256(publish: ["*"], subscribe: ["nba.*"])
        let expired = try await TestTokens.hs256(subscribe: ["*"], exp: Self.expired)
        let publisher = try await TestTokens.hs256(publish: ["*"])
        try await withBroker(Self.configuration) { broker in
            let query = "?topics=stocks.AAPL"
            // Refused upgrades are answered with the status and the contract's JSON error ...
            for (token, status, code) in [(nil, HTTPResponse.Status.unauthorized, "unauthorized"), (wrong, .forbidden, "forbidden"), (expired, .unauthorized, "unauthorized")] {
                let path = "/v1/ws" + query + (token.map { "&token=\($0)" } ?? "")
                let answer = try await broker.http { http in try await http.get(path, headers: BadInputTests.upgradeHeaders) }
                #expect(answer.status == status && answer.errorCode == code)
                await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: "ws://127.0.0.1:\(broker.port)" + path) }
            }
            // ... and so is the same request without the upgrade headers.
            try await broker.http { http in
                let none = try await http.get("/v1/ws" + query)
                #expect(none.status == .unauthorized && none.errorCode == "unauthorized")
                let forbidden = try await http.get("/v1/ws" + query + "&token=\(wrong)")
                #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden")
                #expect(try await http.get("/v1/ws" + query, headers: TestTokens.bearer(expired)).status == .unauthorized)
                #expect(try await http.get("/v1/ws" + query + "&token=\(right)").errorCode == "upgrade_required")
            }
            let byQuery = try await TestSubscriber(url: broker.wsURL + query + "&token=\(right)")
            let byHeader = try await TestSubscriber(url: broker.wsURL + query, headers: TestTokens.bearer(right))
            try await eventually("subscribed") { [byQuery, byHeader].allSatisfy { !$0.controls(type: "subscribed").isEmpty } }
            try await broker.http { http in
                let response = try await http.post("/v1/topics/stocks.AAPL", headers: TestTokens.bearer(publisher), body: ByteBuffer(string: "1"))
                #expect(response.status == .ok)
            }
            try await eventually("event") { byQuery.seqs("stocks.AAPL") == [1] && byHeader.seqs("stocks.AAPL") == [1] }
            try await byQuery.close()
            try await byHeader.close()
        }
    }

    @Test func webSocketSubscribeOps() async throws {
        let token = try await TestTokens.hs256(subscribe: ["stocks.*", "nba.game.1234"])
        try await withBroker(Self.configuration) { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?token=\(token)")
            try await client.send(#"{"op":"subscribe","topic":"nba.game.1","id":1}"#)
            try await client.send(#"{"op":"subscribe","topic":"stocks","id":2}"#)
            try await client.send(#"{"op":"subscribe","topic":"stocks.AAPL","id":3}"#)
            try await client.send(#"{"op":"subscribe","topic":"nba.game.1234","id":4}"#)
            try await eventually("answers") { client.controls(type: "error").count == 2 && client.controls(type: "subscribed").count == 2 }
            let errors = client.controls(type: "error")
            #expect(errors.map { $0["code"] as? String } == ["forbidden", "forbidden"])
            #expect(errors.map { $0["id"] as? Int } == [1, 2])
            #expect(client.controls(type: "subscribed").map { $0["id"] as? Int } == [3, 4], "the connection stayed open")
            try await client.close()
        }
    }

    @Test func aWebSocketWhoseTokenExpiresIsClosedWith1008() async throws {
        let token = try await TestTokens.hs256(subscribe: ["*"], exp: Date().addingTimeInterval(2))
        let lasting = try await TestTokens.hs256(subscribe: ["*"])
        try await withBroker(Self.configuration) { broker in
            let expiring = try await TestSubscriber(url: broker.wsURL + "?topics=t&token=\(token)")
            let other = try await TestSubscriber(url: broker.wsURL + "?topics=t&token=\(lasting)")
            try await eventually("closed", timeout: .seconds(6)) { expiring.closed != nil }
            #expect(expiring.closed??.closeCode == .policyViolation)
            #expect(other.closed == nil)
            try await other.close()
        }
    }

    @Test func es256TokensOnAPublicKeyBroker() async throws {
        let pair = try TestTokens.es256KeyPair()
        defer { try? FileManager.default.removeItem(atPath: pair.publicKeyFile) }
        let right = try await TestTokens.es256(key: pair.key, publish: ["a"], subscribe: ["a"])
        let wrong = try await TestTokens.es256(key: pair.key, publish: ["b"])
        let expired = try await TestTokens.es256(key: pair.key, publish: ["a"], exp: Self.expired)
        let hs256 = try await TestTokens.hs256(publish: ["a"])
        try await withBroker(BrokerConfiguration(credentials: .init(jwtPublicKeyFile: pair.publicKeyFile))) { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=a&token=\(right)")
            try await broker.http { (http: TestClient) async throws -> Void in
                func post(_ token: String?) async throws -> HTTPResponse.Status {
                    try await http.post("/v1/topics/a", headers: token.map(TestTokens.bearer) ?? [:], body: ByteBuffer(string: "1")).status
                }
                #expect(try await post(nil) == .unauthorized)
                #expect(try await post(wrong) == .forbidden)
                #expect(try await post(expired) == .unauthorized)
                #expect(try await post(hs256) == .unauthorized, "no HS256 key is configured")
                #expect(try await post(right) == .ok)
            }
            try await eventually("event") { client.seqs("a") == [1] }
            try await client.close()
        }
    }

    @Test func staticTokensOverTheWire() async throws {
        let credentials = BrokerConfiguration.Credentials(adminToken: "root-token", publishTokens: ["feed-token"])
        try await withBroker(BrokerConfiguration(credentials: credentials)) { broker in
            await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: broker.wsURL + "?topics=a&token=feed-token") }
            let admin = try await TestSubscriber(url: broker.wsURL + "?topics=a&token=root-token")
            try await broker.http { http in
                let response = try await http.post("/v1/topics/a", headers: TestTokens.bearer("feed-token"), body: ByteBuffer(string: "1"))
                #expect(response.status == .ok)
            }
            try await eventually("event") { admin.seqs("a") == [1] }
            try await admin.close()
        }
    }
}
