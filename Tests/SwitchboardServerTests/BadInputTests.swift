import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

/// Every bad input gets the contract's answer, and the broker keeps serving others.
@Suite(.serialized) struct BadInputTests {
    static let upgradeHeaders: HTTPFields = [
        .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
        .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
    ]

    @Test func httpPublishErrors() async throws {
        let configuration = BrokerConfiguration(engine: EngineConfiguration(maxPayloadBytes: 16))
        try await withBroker(configuration) { broker in
            try await broker.http { http in
                for bad in ["a..b", ".a", "a.", "a%20b", String(repeating: "x", count: 129)] {
                    let response = try await http.post("/v1/topics/\(bad)", body: ByteBuffer(string: "x"))
                    #expect(response.status == .badRequest && response.errorCode == "invalid_topic", "\(bad)")
                }
                let exact = try await http.post("/v1/topics/t", body: ByteBuffer(repeating: 0x61, count: 16))
                #expect(exact.status == .ok)
                let over = try await http.post("/v1/topics/t", body: ByteBuffer(repeating: 0x61, count: 17))
                #expect(over.status == .contentTooLarge && over.errorCode == "payload_too_large")
                let badKey = try await http.post("/v1/topics/t", headers: [HTTPField.Name("Idempotency-Key")!: "a b"], body: ByteBuffer(string: "x"))
                #expect(badKey.status == .badRequest && badKey.errorCode == "invalid_idempotency_key")
                let unknown = try await http.get("/v2/nothing")
                #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
                let method = try await http.get("/v1/publish")
                #expect(method.status == .methodNotAllowed)
                // Nothing above published: the next event is seq 2 (after the one exact-size publish).
                #expect(parseJSON(try await broker.publish("t", "ok", client: http))["seq"] as? Int == 2)
            }
        }
    }

    @Test func batchErrorsPublishNothing() async throws {
        try await withBroker(BrokerConfiguration(engine: EngineConfiguration(maxPayloadBytes: 16))) { broker in
            try await broker.http { http in
                let json: HTTPFields = [.contentType: "application/json"]
                func post(_ body: String, headers: HTTPFields = json) async throws -> TestClient.Response {
                    try await http.post("/v1/publish", headers: headers, body: ByteBuffer(string: body))
                }
                #expect(try await post("{not json").errorCode == "invalid_json")
                #expect(try await post("[1,2]").errorCode == "invalid_batch")
                #expect(try await post(#"{"events":[]}"#).errorCode == "invalid_batch")
                #expect(try await post(#"{"events":[]}"#, headers: [.contentType: "text/plain"]).status == .unsupportedMediaType)
                let badEntry = try await post(#"{"events":[{"topic":"a","data":1},{"topic":"a..b","data":2}]}"#)
                #expect(badEntry.status == .badRequest && badEntry.errorCode == "invalid_topic")
                #expect((badEntry.json["error"] as? [String: Any])?["index"] as? Int == 1)
                let both = try await post(#"{"events":[{"topic":"a","data":1,"data_b64":"AA=="}]}"#)
                #expect(both.errorCode == "invalid_batch")
                let typed = try await post(#"{"events":[{"topic":"a","data":1,"type":"x/y"}]}"#)
                #expect(typed.errorCode == "invalid_batch")
                let big = try await post(#"{"events":[{"topic":"a","data":1},{"topic":"b","data_b64":"\#(Data(count: 17).base64EncodedString())"}]}"#)
                #expect(big.status == .contentTooLarge && (big.json["error"] as? [String: Any])?["index"] as? Int == 1)
                // All or nothing: "a" never got the first entry of any failed batch.
                let good = try await post(#"{"events":[{"topic":"a","data":{"x":[1,"y"]}},{"topic":"b","data_b64":"aGk=","type":"text/plain"}]}"#)
                #expect(good.status == .ok)
                let results = good.json["results"] as? [[String: Any]]
                #expect(results?.map { $0["seq"] as? Int } == [1, 1])
            }
        }
    }

    @Test func webSocketRequestErrorsKeepTheConnectionOpen() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL)
            let cases: [(String, String)] = [
                ("{oops", "invalid_json"),
                ("[1]", "invalid_json"),
                (#"{"op":"dance","id":5}"#, "unknown_op"),
                (#"{"op":"subscribe"}"#, "invalid_request"),
                (#"{"op":"subscribe","topic":"a..b"}"#, "invalid_topic"),
                (#"{"op":"subscribe","topic":"a","since":1,"last":2}"#, "invalid_request"),
                (#"{"op":"subscribe","topic":"a","since":"x"}"#, "invalid_request"),
                (#"{"op":"subscribe","topic":"a","since":-1,"id":17}"#, "invalid_request"),
                (#"{"op":"subscribe","topic":"a","sinse":0,"id":18}"#, "invalid_request"),
            ]
            for (text, _) in cases { try await client.send(text) }
            try await client.sendBinary([1, 2, 3])
            try await eventually("every error") { client.controls(type: "error").count == cases.count + 1 }
            let codes = client.controls(type: "error").map { $0["code"] as? String ?? "" }
            #expect(codes == cases.map(\.1) + ["binary_not_accepted"])
            #expect(client.controls(type: "error")[2]["id"] as? Int == 5)
            // The id is echoed whatever else is wrong; a typo is named, not ignored.
            #expect(client.controls(type: "error")[7]["id"] as? Int == 17)
            #expect(client.controls(type: "error")[8]["id"] as? Int == 18)
            #expect((client.controls(type: "error")[8]["message"] as? String)?.contains("sinse") == true)
            // Still open and serving.
            try await client.send(#"{"op":"subscribe","topic":"ok"}"#)
            try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
            try await client.send(#"{"op":"subscribe","topic":"ok"}"#)
            try await eventually("already_subscribed") { client.controls(type: "error").last?["code"] as? String == "already_subscribed" }
            try await broker.http { http in try await broker.publish("ok", "1", client: http) }
            try await eventually("event") { client.seqs("ok") == [1] }
            try await client.close()
        }
    }

    @Test func oversizedClientFrameClosesWith1009() async throws {
        try await withBroker(BrokerConfiguration(maxClientFrameBytes: 1024)) { broker in
            let other = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            let client = try await TestSubscriber(url: broker.wsURL)
            try await client.send(#"{"op":"subscribe","topic":"\#(String(repeating: "x", count: 2000))"}"#)
            try await eventually("closed") { client.closed != nil }
            #expect(client.closed??.closeCode == .messageTooLarge)
            #expect(client.closed??.reason == "message too big", "the close says why")
            try await broker.http { http in try await broker.publish("t", "1", client: http) }
            try await eventually("others still served") { other.seqs("t") == [1] }
            try await other.close()
        }
    }

    @Test func badUpgradesAreRefusedBeforeUpgrading() async throws {
        try await withBroker { broker in
            var headers = Self.upgradeHeaders
            headers[.secWebSocketProtocol] = "mqtt, graphql-ws"
            // A refused upgrade gets the contract's status and JSON error, not an empty 400.
            let refused = try await broker.http { [headers] http in try await http.get("/v1/ws", headers: headers) }
            #expect(refused.status == .badRequest && refused.errorCode == "unsupported_protocol")
            for (query, code) in [("?topics=a,,b", "invalid_topic"), ("?topics=a..b", "invalid_topic"), ("?compression=brotli", "invalid_request")] {
                let answer = try await broker.http { http in try await http.get("/v1/ws" + query, headers: Self.upgradeHeaders) }
                #expect(answer.status == .badRequest && answer.errorCode == code, "\(query)")
            }
            // Handshakes NIO cannot take (no key, another protocol) and upgrades on other paths are answered too.
            var noKey = Self.upgradeHeaders
            noKey[.secWebSocketKey] = nil
            var h2c = Self.upgradeHeaders
            h2c[.upgrade] = "h2c"
            for (path, fields, status) in [("/v1/ws", noKey, HTTPResponse.Status.badRequest), ("/v1/ws", h2c, .badRequest), ("/v1/poll", Self.upgradeHeaders, .notFound)] {
                let answer = try await broker.http { http in try await http.get(path, headers: fields) }
                #expect(answer.status == status && answer.errorCode != nil, "\(path) \(fields)")
            }
            try await broker.http { http in
                let plain = try await http.get("/v1/ws")
                #expect(plain.status == .badRequest && plain.errorCode == "upgrade_required")
            }
        }
    }

    @Test func zstdIsNegotiatedInTheClientsOrderAndDecodesIdentically() async throws {
        try await withBroker { broker in
            let zstd = try await TestSubscriber(url: broker.wsURL + "?topics=z", protocols: "switchboard.v1.zstd, switchboard.v1")
            let byParameter = try await TestSubscriber(url: broker.wsURL + "?topics=z&compression=zstd")
            let plainFirst = try await TestSubscriber(url: broker.wsURL + "?topics=z&compression=zstd", protocols: "switchboard.v1, switchboard.v1.zstd")
            let plain = try await TestSubscriber(url: broker.wsURL + "?topics=z")
            let all = [zstd, byParameter, plainFirst, plain]
            try await eventually("subscribed") { all.allSatisfy { !$0.controls(type: "subscribed").isEmpty } }
            let tick = String(repeating: #"{"symbol":"AAPL","price":187.12,"volume":1200},"#, count: 4)
            var generator = SystemRandomNumberGenerator()
            let noise = ByteBuffer(bytes: (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try await broker.http { http in
                try await broker.publish("z", "[\(tick)0]", client: http)
                try await eventually("first event") { zstd.seqs("z") == [1] }
                try await broker.publish("z", "x", type: "text/plain", client: http)
                try await eventually("second event") { zstd.seqs("z") == [1, 2] }
                let response = try await http.post("/v1/topics/z", headers: [.contentType: "application/octet-stream"], body: noise)
                #expect(response.status == .ok)
            }
            try await eventually("three events everywhere") { all.allSatisfy { $0.seqs("z") == [1, 2, 3] } }
            #expect(zstd.frames.map(\.compressed) == [true, false, false], "compressible, too small, incompressible")
            #expect(byParameter.frames.map(\.compressed) == [true, false, false])
            #expect(plainFirst.frames.allSatisfy { !$0.compressed })
            #expect(plain.frames.allSatisfy { !$0.compressed })
            #expect(zstd.frames[2].events[0].payload == noise)
            let payloads = all.map { $0.frames.flatMap { $0.events.map { String(buffer: $0.payload) } } }
            #expect(payloads.allSatisfy { $0 == payloads[0] })
            for c in all { try await c.close() }
        }
    }
}
