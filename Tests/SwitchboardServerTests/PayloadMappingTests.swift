import CompressNIO
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

/// How payloads appear in the JSON transports (poll, history, SSE), and their compression.
@Suite(.serialized)
struct PayloadMappingTests {
    @Test func payloadsAreMappedByTypeExactlyAsTheContractSays() async throws {
        let cases: [(type: String, body: [UInt8], key: String, check: @Sendable (Any?) -> Bool)] = [
            ("application/json", Array(#"{"b":1,"a":[true,null]}"#.utf8), "data", { ($0 as? [String: Any])?["b"] as? Int == 1 }),
            ("application/vnd.ticks+json; charset=utf-8", Array("42".utf8), "data", { $0 as? Int == 42 }),
            ("Application/JSON", Array(#""text""#.utf8), "data", { $0 as? String == "text" }),
            ("application/json", Array("{not json".utf8), "data_b64", { $0 as? String == Data("{not json".utf8).base64EncodedString() }),
            ("application/json", [], "data_b64", { $0 as? String == "" }),
            ("text/plain; charset=utf-8", Array("héllo\nwörld".utf8), "data", { $0 as? String == "héllo\nwörld" }),
            ("text/csv", [0x61, 0xFF, 0x62], "data_b64", { $0 as? String == Data([0x61, 0xFF, 0x62]).base64EncodedString() }),
            ("application/octet-stream", [0, 1, 2, 250], "data_b64", { $0 as? String == Data([0, 1, 2, 250]).base64EncodedString() }),
        ]
        try await withBroker { broker in
            try await broker.http { client in
                for (index, item) in cases.enumerated() {
                    let topic = "map.t\(index)"
                    let published = try await client.post("/v1/topics/\(topic)", headers: [.contentType: item.type], body: ByteBuffer(bytes: item.body))
                    #expect(published.status == .ok)
                    let history = try await client.get("/v1/topics/\(topic)/events")
                    let event = try #require((history.json["events"] as? [[String: Any]])?.first, "\(item.type)")
                    #expect(event["type"] as? String == item.type)
                    #expect(event.keys.contains(item.key), "\(item.type) \(item.body.count) bytes: \(history.bodyText)")
                    #expect(item.check(event[item.key]), "\(item.type): \(history.bodyText)")
                    let other = item.key == "data" ? "data_b64" : "data"
                    #expect(event[other] == nil)
                }
            }
        }
    }

    @Test func historyReportsTheTopicAndNeverWaits() async throws {
        var configuration = BrokerConfiguration()
        configuration.engine.ringLimits.capacity = 4
        try await withBroker(configuration) { broker in
            try await broker.http { client in
                let unknown = try await client.get("/v1/topics/nobody/events")
                #expect(unknown.status == .ok)
                #expect(unknown.json["seq"] as? Int == 0)
                #expect((unknown.json["events"] as? [Any])?.isEmpty == true)
                #expect(broker.broker.engine.topicInfo("nobody") == nil, "reading history creates no topic")

                var epoch = ""
                for n in 1...6 { epoch = parseJSON(try await broker.publish("h", "\(n)", client: client))["epoch"] as? String ?? "" }
                let all = try await client.get("/v1/topics/h/events?since=0")
                #expect(all.json["epoch"] as? String == epoch)
                #expect(all.json["seq"] as? Int == 6)
                #expect((all.json["events"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [3, 4, 5, 6])
                let gap = (all.json["gaps"] as? [[String: Any]])?.first
                #expect(gap?["from"] as? Int == 1 && gap?["to"] as? Int == 2)
                let page = try await client.get("/v1/topics/h/events?since=4&limit=1")
                #expect((page.json["events"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [5])
                #expect((page.json["gaps"] as? [Any])?.isEmpty == true)
                let beyond = try await client.get("/v1/topics/h/events?since=99")
                #expect((beyond.json["events"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func pollAndHistoryAnswersHonourAcceptEncoding() async throws {
        try await withBroker { broker in
            try await broker.http { client in
                for n in 1...40 {
                    try await broker.publish("z", #"{"symbol":"AAPL","price":187.\#(n),"volume":\#(n * 1000),"exchange":"NASDAQ"}"#, client: client)
                }
                let plain = try await client.get("/v1/topics/z/events")
                #expect(plain.headers[.contentEncoding] == nil)
                #expect(plain.headers[.vary] == "Accept-Encoding")
                let decompressor = try ZstdDecompressor()

                let zstd = try await client.get("/v1/topics/z/events", headers: [.acceptEncoding: "gzip;q=0.5, zstd"])
                #expect(zstd.headers[.contentEncoding] == "zstd")
                let zstdBody = try #require(zstd.body)
                #expect(zstdBody.readableBytes < plain.body!.readableBytes / 2)
                #expect(String(buffer: try decompressor.decompress(zstdBody)) == plain.bodyText)

                let poll = try await client.get("/v1/poll?topics=z&last=40&timeout=0", headers: [.acceptEncoding: "gzip"])
                #expect(poll.headers[.contentEncoding] == "gzip")
                var gzipped = try #require(poll.body)
                let text = String(buffer: try gzipped.decompress(with: .gzip()))
                #expect((parseJSON(text)["events"] as? [Any])?.count == 40)

                let small = try await client.get("/v1/topics/z/events?since=39", headers: [.acceptEncoding: "zstd"])
                #expect(small.headers[.contentEncoding] == nil, "answers under 1 KiB go out as they are")
            }
        }
    }
}
