import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import SwitchboardServer
import Testing

/// Browsers on other origins (contract v1.1): CORS fields for allowed origins, preflights, and
/// streams refused to pages of origins that are not allowed.
@Suite(.serialized) struct CORSTests {
    static let dashboard = "http://dash.example.com:8000"

    @Test func originsNormalizeAndCompareWithDefaultPorts() throws {
        #expect(OriginPolicy.normalize("HTTPS://Dash.Example.com") == "https://dash.example.com:443")
        #expect(OriginPolicy.normalize("http://127.0.0.1:8080") == "http://127.0.0.1:8080")
        #expect(OriginPolicy.normalize("http://[::1]:9000") == "http://[::1]:9000")
        for bad in ["null", "ftp://x", "http://", "http://x/path", "http://x:0", "http://x:99999", "http://u@x"] {
            #expect(OriginPolicy.normalize(bad) == nil, "\(bad)")
        }
        #expect(OriginPolicy.isSameOrigin("http://localhost", host: "localhost:80"))
        #expect(OriginPolicy.isSameOrigin("http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        #expect(!OriginPolicy.isSameOrigin("http://127.0.0.1:8081", host: "127.0.0.1:8080"))
        #expect(!OriginPolicy.isSameOrigin("https://127.0.0.1:8080", host: "127.0.0.1:8080"))
        let policy = try OriginPolicy(allowed: [Self.dashboard])
        #expect(policy.allows("http://DASH.example.com:8000"))
        #expect(!policy.allows("http://dash.example.com"))
        #expect(try OriginPolicy(allowed: ["*"]).allows("https://anything.example"))
        #expect(throws: ConfigurationError.self) { try OriginPolicy(allowed: ["dash.example.com"]) }
    }

    @Test func allowedOriginsGetCORSFieldsOnEveryAnswerAndPreflights() async throws {
        try await withBroker(BrokerConfiguration(allowedOrigins: [Self.dashboard])) { broker in
            try await broker.http { http in
                let origin: HTTPFields = [.origin: Self.dashboard]
                let preflight = try await http.execute(
                    .init(
                        "/v1/topics/a", method: .options,
                        headers: origin + [.accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type, idempotency-key"]
                    )
                )
                #expect(preflight.status == .noContent)
                #expect(preflight.headers[.accessControlAllowOrigin] == Self.dashboard)
                for field in ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"] {
                    #expect(preflight.headers[.accessControlAllowHeaders]?.contains(field) == true, "\(field)")
                }
                #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
                #expect(preflight.headers[.accessControlMaxAge] != nil)

                let published = try await http.post("/v1/topics/a", headers: origin + [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                #expect(published.status == .ok)
                #expect(published.headers[.accessControlAllowOrigin] == Self.dashboard && published.headers[.vary] == "Origin")
                for path in ["/v1/poll?topics=a&last=1&timeout=0", "/v1/topics/a/events", "/v1/topics/a..b/events", "/healthz"] {
                    let answer = try await http.get(path, headers: origin)
                    #expect(answer.headers[.accessControlAllowOrigin] == Self.dashboard, "\(path) \(answer.status)")
                }
                // Another origin is answered as usual, without CORS fields; no Origin, likewise.
                let foreign = try await http.get("/v1/topics/a/events", headers: [.origin: "http://evil.example"])
                #expect(foreign.status == .ok && foreign.headers[.accessControlAllowOrigin] == nil)
                let plain = try await http.execute(.init("/v1/topics/a", method: .options))
                #expect(plain.status == .noContent && plain.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func streamsFromOriginsThatAreNotAllowedAre403() async throws {
        try await withBroker(BrokerConfiguration(allowedOrigins: [Self.dashboard])) { broker in
            try await broker.http { http in
                let foreign: HTTPFields = [.origin: "http://evil.example"]
                let sse = try await http.get("/v1/sse?topics=a", headers: foreign)
                #expect(sse.status == .forbidden && sse.errorCode == "origin_not_allowed")
                var upgrade = BadInputTests.upgradeHeaders
                upgrade[.origin] = "http://evil.example"
                let ws = try await http.get("/v1/ws?topics=a", headers: upgrade)
                #expect(ws.status == .forbidden && ws.errorCode == "origin_not_allowed")
            }
            // The broker's own origin, an allowed one, no Origin at all, and the `ws://` origin of
            // a program's WebSocket library may stream; a sandboxed page (`null`) may not.
            let null = try await broker.http { http in try await http.get("/v1/sse?topics=a", headers: [.origin: "null"]) }
            #expect(null.status == .forbidden)
            for origin in ["http://127.0.0.1:\(broker.port)", Self.dashboard, nil, "ws://127.0.0.1"] {
                let socket = try RawHTTPSocket(port: broker.port)
                defer { socket.close() }
                let field = origin.map { "Origin: \($0)\r\n" } ?? ""
                try socket.send("GET /v1/sse?topics=a HTTP/1.1\r\nHost: 127.0.0.1:\(broker.port)\r\n\(field)\r\n")
                let text = await socket.received(until: { $0.contains("\r\n\r\n") })
                #expect(text.hasPrefix("HTTP/1.1 200"), "\(origin ?? "no origin"): \(text.prefix(100))")
            }
        }
    }
}
