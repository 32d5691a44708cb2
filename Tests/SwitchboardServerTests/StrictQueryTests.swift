import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardServer
import Testing

/// A query parameter a route does not define is `400 invalid_request` naming it, on every
/// route; `token` is defined everywhere.
@Suite(.serialized) struct StrictQueryTests {
    @Test func anUnknownParameterIsNamedOnEveryRoute() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let json: HTTPFields = [.contentType: "application/json"]
                let requests: [(HTTPRequest.Method, String, HTTPFields, String?)] = [
                    (.get, "/v1/poll?topics=a&lst=3&timeout=0", [:], nil),
                    (.get, "/v1/sse?topics=a&lst=3", [:], nil),
                    (.get, "/v1/sse?topics=a&timeout=1", [:], nil),
                    (.get, "/v1/topics/a/events?sinse=0", [:], nil),
                    (.get, "/v1/ws?topics=a&lst=3", [:], nil),
                    (.post, "/v1/publish?lst=3", json, #"{"events":[{"topic":"a","data":1}]}"#),
                    (.get, "/v1/admin/stats?lst=3", [:], nil),
                    (.get, "/v1/admin/topics?prefx=a", [:], nil),
                    (.get, "/v1/admin/topics/a?lst=3", [:], nil),
                    (.put, "/v1/admin/topics/a/config?lst=3", json, #"{"capacity":5}"#),
                    (.get, "/v1/admin/connections?lst=3", [:], nil),
                    (.get, "/healthz?lst=3", [:], nil),
                    (.get, "/readyz?lst=3", [:], nil),
                    (.get, "/metrics?lst=3", [:], nil),
                    (.get, "/admin?lst=3", [:], nil),
                ]
                for (method, path, headers, body) in requests {
                    let response = try await http.execute(TestClient.Request(path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }))
                    #expect(response.status == .badRequest && response.errorCode == "invalid_request", "\(method) \(path): \(response.bodyText)")
                    let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("'lst'") || message.contains("'sinse'") || message.contains("'prefx'") || message.contains("'timeout'"), "\(path): \(message)")
                }
                // Nothing above published or configured anything.
                #expect(try await http.get("/v1/topics/a/events").json["seq"] as? Int == 0)
                #expect(try await http.get("/v1/admin/topics/a").json["limits"].flatMap { $0 as? [String: Int] }?["capacity"] != 5)
            }
        }
    }

    @Test func definedParametersAndTokenAreAccepted() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                for path in [
                    "/v1/poll?topics=a&timeout=0&limit=5&token=x", "/v1/topics/a/events?since=0&limit=5&token=x", "/v1/admin/topics?prefix=a&token=x",
                    "/v1/admin/stats?token=x", "/healthz?token=x", "/readyz?token=x", "/metrics?token=x", "/admin?token=x",
                ] {
                    #expect(try await http.get(path).status == .ok, "\(path)")
                }
                let publish = try await http.post("/v1/publish?token=x", headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"events":[{"topic":"a","data":1}]}"#))
                #expect(publish.status == .ok)
            }
        }
    }

    @Test func aWebSocketUpgradeWithAnUnknownParameterIsRefusedBeforeUpgrading() async throws {
        try await withBroker { broker in
            let answer = try await broker.http { http in try await http.get("/v1/ws?topics=a&compresion=zstd", headers: BadInputTests.upgradeHeaders) }
            #expect(answer.status == .badRequest && answer.errorCode == "invalid_request")
            #expect(answer.bodyText.contains("compresion"))
            let good = try await TestSubscriber(url: broker.wsURL + "?topics=a&compression=none&token=x")
            try await eventually("subscribed") { !good.controls(type: "subscribed").isEmpty }
            try await good.close()
        }
    }

    @Test func aPublishWithAnUnknownParameterPublishesNothing() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            // The router's path (a chunked body never takes the event loop's publish path).
            try socket.send("POST /v1/topics/q?x=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
            let text = await socket.received(until: { rawAnswers($0).count == 1 && $0.hasSuffix("}") })
            #expect(rawAnswers(text).first?.status == 400 && text.contains(#""code":"invalid_request""#) && text.contains("'x'"), "\(text)")
            let withToken = try await broker.http { http in try await http.post("/v1/topics/q?token=x", body: ByteBuffer(string: "a")) }
            #expect(withToken.status == .ok, "token is defined, and ignored")
            // A plain publish, which the event loop would answer, leaves a query to the router.
            let plain = try await broker.http { http in try await http.post("/v1/topics/q?x=1", body: ByteBuffer(string: "a")) }
            #expect(plain.status == .badRequest && plain.errorCode == "invalid_request")
        }
    }
}
