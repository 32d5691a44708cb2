import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// Poll, history and SSE with credentials configured: no token → 401, a token without the
/// subscribe pattern → 403, an expired token → 401, the right token (header or `?token=`) → allowed.
@Suite(.serialized) struct ReadCredentialsTests {
    static let configuration = BrokerConfiguration(credentials: .init(jwtSecret: TestTokens.secret))
    static var expired: Date { Date().addingTimeInterval(-60) }

    @Test func pollAndHistory() async throws {
        let right = try await TestTokens.hs256(subscribe: ["stocks.*"])
        let wrong = try await TestTokens.hs256(publish: ["*"], subscribe: ["nba.*"])
        let expired = try await TestTokens.hs256(subscribe: ["*"], exp: Self.expired)
        let publisher = try await TestTokens.hs256(publish: ["*"])
        try await withBroker(Self.configuration) { broker in
            try await broker.http { http in
                let published = try await http.post("/v1/topics/stocks.AAPL", headers: TestTokens.bearer(publisher), body: ByteBuffer(string: "1"))
                #expect(published.status == .ok)
                for path in ["/v1/poll?topics=stocks.AAPL&last=5&timeout=0", "/v1/topics/stocks.AAPL/events?since=0"] {
                    let join = path.contains("?") ? "&" : "?"
                    let none = try await http.get(path)
                    #expect(none.status == .unauthorized && none.errorCode == "unauthorized", "\(path)")
                    let forbidden = try await http.get(path + join + "token=\(wrong)")
                    #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden", "\(path)")
                    #expect(try await http.get(path, headers: TestTokens.bearer(expired)).status == .unauthorized, "\(path)")
                    let byQuery = try await http.get(path + join + "token=\(right)")
                    #expect(byQuery.status == .ok && (byQuery.json["events"] as? [Any])?.count == 1, "\(path)")
                    #expect(try await http.get(path, headers: TestTokens.bearer(right)).status == .ok, "\(path)")
                }
                // A poll over several topics needs the grant for each of them.
                let mixed = try await http.get("/v1/poll?topics=stocks.AAPL,nba.x&timeout=0&token=\(right)")
                #expect(mixed.status == .forbidden)
            }
        }
    }

    @Test func sse() async throws {
        let right = try await TestTokens.hs256(subscribe: ["s.*"])
        let wrong = try await TestTokens.hs256(subscribe: ["t.*"])
        let expired = try await TestTokens.hs256(subscribe: ["*"], exp: Self.expired)
        let expiring = try await TestTokens.hs256(subscribe: ["*"], exp: Date().addingTimeInterval(2))
        try await withBroker(Self.configuration) { broker in
            for (query, status) in [("", 401), ("&token=\(wrong)", 403), ("&token=\(expired)", 401)] {
                let refused = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a" + query)
                try await eventually("answered") { refused.status != nil }
                #expect(refused.status == status, "\(query)")
                await refused.close()
            }
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a&token=\(right)")
            let byHeader = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a", headers: [("Authorization", "Bearer \(right)")])
            let ending = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a&token=\(expiring)")
            try await eventually("open") { [stream, byHeader, ending].allSatisfy { $0.status == 200 } }
            try await eventually("the stream whose token expires ends", timeout: .seconds(6)) { ending.ended }
            #expect(!stream.ended && !byHeader.ended)
            await stream.close()
            await byHeader.close()
            await ending.close()
        }
    }

    @Test func sseCountsAgainstTheConnectionLimit() async throws {
        try await withBroker(BrokerConfiguration(maxConnections: 1)) { broker in
            let ws = try await TestSubscriber(url: broker.wsURL + "?topics=s.a")
            try await eventually("registered") { broker.broker.state.connectionCount == 1 }
            let refused = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a")
            try await eventually("answered") { refused.status != nil }
            #expect(refused.status == 429)
            #expect(refused.body.contains("limit_reached"))
            await refused.close()
            try await ws.close()
        }
    }
}
