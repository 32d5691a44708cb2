import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

@Suite(.serialized) struct AdminAPITests {
    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func statsAndMetricsCountTheTraffic() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=m.a")
            try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
            try await broker.http { http in
                for i in 1...5 { try await broker.publish("m.a", #"{"i":\#(i)}"#, client: http) }
                for i in 1...3 { try await broker.publish("m.b", "\(i)", type: "text/plain", client: http) }
            }
            try await eventually("5 events") { client.seqs("m.a").count == 5 }
            try await eventually("deliveries counted") {
                return try await broker.getJSON("/v1/admin/stats")["events_delivered_total"] as? Int == 5
            }
            let stats = try await broker.getJSON("/v1/admin/stats")
            #expect(stats["events_published_total"] as? Int == 8)
            #expect(stats["topics"] as? Int == 2)
            #expect(stats["gaps_total"] as? Int == 0)
            #expect((stats["version"] as? String)?.isEmpty == false)
            #expect(stats["uptime_seconds"] as? Int != nil)
            #expect(stats["connections"] as? [String: Int] == ["ws": 1, "poll": 0, "sse": 0])
            let sent = try #require(stats["bytes_sent_total"] as? Int)
            #expect(sent > 5 * 7 && stats["bytes_sent_uncompressed_total"] as? Int == sent)

            let response = try await broker.http { http in try await http.get("/metrics") }
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let metrics = parseMetrics(response.bodyText)
            #expect(metrics.value("switchboard_events_published_total") == 8)
            #expect(metrics.value("switchboard_events_delivered_total", ["transport": "ws"]) == 5)
            #expect(metrics.value("switchboard_events_delivered_total", ["transport": "sse"]) == 0)
            #expect(metrics.value("switchboard_bytes_received_total") == Double(5 * 7 + 3))
            #expect(metrics.value("switchboard_bytes_sent_total", ["transport": "ws", "encoding": "identity"]) == Double(sent))
            #expect(metrics.value("switchboard_bytes_sent_total", ["transport": "ws", "encoding": "zstd"]) == 0)
            #expect(metrics.value("switchboard_gaps_total") == 0)
            #expect(metrics.value("switchboard_connections", ["transport": "ws"]) == 1)
            #expect(metrics.value("switchboard_connections", ["transport": "poll"]) == 0)
            #expect(metrics.value("switchboard_connections", ["transport": "sse"]) == 0)
            #expect(metrics.value("switchboard_subscriptions", ["transport": "ws"]) == 1)
            #expect(metrics.value("switchboard_topics") == 2)
            #expect(metrics.value("switchboard_buffered_bytes") == Double(5 * 7 + 3))
            let observed = try #require(metrics.value("switchboard_delivery_latency_seconds_count", ["transport": "ws"]))
            #expect(observed >= 1 && observed <= 5)
            #expect(metrics.value("switchboard_delivery_latency_seconds_bucket", ["transport": "ws", "le": "+Inf"]) == observed)
            let latency = try #require(metrics.value("switchboard_delivery_latency_seconds_sum", ["transport": "ws"]))
            #expect(latency >= 0 && latency < 10)
            try await client.close()
        }
    }

    @Test func topicsWithPrefixAndOneTopic() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                for topic in ["a.x", "a.y", "a.y", "b.z"] { try await broker.publish(topic, "12345", client: http) }
                let listed = try await http.get("/v1/admin/topics?prefix=a.").json
                let topics = try #require(listed["topics"] as? [[String: Any]])
                #expect(topics.map { $0["name"] as? String } == ["a.x", "a.y"])
                let all = try await http.get("/v1/admin/topics").json["topics"] as? [[String: Any]]
                #expect(all?.count == 3)

                let one = try await http.get("/v1/admin/topics/a.y").json
                #expect(one["name"] as? String == "a.y")
                #expect(one["seq"] as? Int == 2 && one["oldest_seq"] as? Int == 1)
                #expect(one["buffered_events"] as? Int == 2 && one["buffered_bytes"] as? Int == 10)
                #expect((one["epoch"] as? String)?.isEmpty == false)
                #expect(one["subscribers"] as? [String: Int] == ["ws": 0, "poll": 0, "sse": 0])
                #expect((one["publish_rate"] as? Double ?? 0) > 0)
                #expect(one["limits"] as? [String: Int] == ["capacity": 1024, "max_bytes": 8_388_608, "ttl_seconds": 0])

                let missing = try await http.get("/v1/admin/topics/no.such")
                #expect(missing.status == .notFound && missing.errorCode == "topic_not_found")
                let bad = try await http.get("/v1/admin/topics/a..b")
                #expect(bad.status == .badRequest && bad.errorCode == "invalid_topic")
            }
        }
    }

    @Test func subscribersAreCountedPerTopic() async throws {
        try await withBroker { broker in
            let one = try await TestSubscriber(url: broker.wsURL + "?topics=w")
            let two = try await TestSubscriber(url: broker.wsURL + "?topics=w,v")
            try await eventually("subscribed") { one.controls(type: "subscribed").count == 1 && two.controls(type: "subscribed").count == 2 }
            let topic = try await broker.getJSON("/v1/admin/topics/w")
            #expect(topic["subscribers"] as? [String: Int] == ["ws": 2, "poll": 0, "sse": 0])
            try await one.close()
            try await two.close()
        }
    }

    @Test func deletingATopicTellsItsSubscribersAndStartsANewEpoch() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=gone")
            try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
            try await broker.http { http in
                let first = parseJSON(try await broker.publish("gone", "1", client: http))
                try await eventually("the event") { client.seqs("gone") == [1] }
                let deleted = try await http.delete("/v1/admin/topics/gone", body: ByteBuffer())
                #expect(deleted.status == .noContent && deleted.bodyText.isEmpty)
                try await eventually("deleted") { !client.controls(type: "deleted").isEmpty }
                #expect(client.controls(type: "deleted")[0] as NSDictionary == ["type": "deleted", "topic": "gone"] as NSDictionary)
                let next = parseJSON(try await broker.publish("gone", "2", client: http))
                #expect(next["seq"] as? Int == 1)
                #expect(next["epoch"] as? String != first["epoch"] as? String)
                // The subscription ended: nothing more reaches the client.
                try await Task.sleep(for: .milliseconds(100))
                #expect(client.seqs("gone") == [1])
                let again = try await http.delete("/v1/admin/topics/never.was", body: ByteBuffer())
                #expect(again.status == .notFound && again.errorCode == "topic_not_found")
            }
            try await client.close()
        }
    }

    @Test func shrinkingATopicReportsTheExactGapToAReplay() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                for i in 1...20 { try await broker.publish("shrink", "\(i)", client: http) }
                let answer = try await http.put("/v1/admin/topics/shrink/config", headers: Self.json, body: ByteBuffer(string: #"{"capacity":5}"#))
                #expect(answer.status == .ok)
                let topic = answer.json
                #expect(topic["name"] as? String == "shrink" && topic["seq"] as? Int == 20)
                #expect(topic["buffered_events"] as? Int == 5 && topic["oldest_seq"] as? Int == 16)
                #expect(topic["limits"] as? [String: Int] == ["capacity": 5, "max_bytes": 8_388_608, "ttl_seconds": 0])
            }
            let client = try await TestSubscriber(url: broker.wsURL)
            try await client.send(#"{"op":"subscribe","topic":"shrink","since":3}"#)
            try await eventually("replay") { client.seqs("shrink") == [16, 17, 18, 19, 20] }
            let gaps = client.controls(type: "gap")
            #expect(gaps.count == 1)
            #expect(gaps.first?["from"] as? Int == 4 && gaps.first?["to"] as? Int == 15)
            try await client.close()
        }
    }

    @Test func configuringCreatesAndValidates() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let created = try await http.put("/v1/admin/topics/fresh.one/config", headers: Self.json,
                                                 body: ByteBuffer(string: #"{"max_bytes":4096,"ttl_seconds":30}"#))
                #expect(created.status == .ok)
                #expect(created.json["seq"] as? Int == 0 && created.json["buffered_events"] as? Int == 0)
                #expect(created.json["limits"] as? [String: Int] == ["capacity": 1024, "max_bytes": 4096, "ttl_seconds": 30])
                // Fields left out keep their values.
                let later = try await http.put("/v1/admin/topics/fresh.one/config", headers: Self.json, body: ByteBuffer(string: #"{"capacity":9}"#))
                #expect(later.json["limits"] as? [String: Int] == ["capacity": 9, "max_bytes": 4096, "ttl_seconds": 30])

                for body in [#"{"capacity":0}"#, #"{"capacity":10000001}"#, #"{"ttl_seconds":-1}"#, #"{"max_bytes":0}"#,
                             #"{"capacity":"5"}"#, #"{"capacity":2.5}"#, #"{"capacity":true}"#, #"{"size":5}"#, #"{"capacity":5,"other":1}"#] {
                    let refused = try await http.put("/v1/admin/topics/fresh.one/config", headers: Self.json, body: ByteBuffer(string: body))
                    #expect(refused.status == .badRequest && refused.errorCode == "invalid_config", "\(body): \(refused.bodyText)")
                }
                for body in ["", "[1]", "{", "5"] {
                    let refused = try await http.put("/v1/admin/topics/fresh.one/config", headers: Self.json, body: ByteBuffer(string: body))
                    #expect(refused.status == .badRequest && refused.errorCode == "invalid_json", "\(body): \(refused.bodyText)")
                }
                let text = try await http.put("/v1/admin/topics/fresh.one/config", headers: [.contentType: "text/plain"], body: ByteBuffer(string: #"{"capacity":5}"#))
                #expect(text.status == .unsupportedMediaType && text.errorCode == "unsupported_media_type")
                let none = try await http.put("/v1/admin/topics/fresh.one/config", body: ByteBuffer(string: #"{"capacity":5}"#))
                #expect(none.status == .unsupportedMediaType)
                let badName = try await http.put("/v1/admin/topics/.bad/config", headers: Self.json, body: ByteBuffer(string: "{}"))
                #expect(badName.status == .badRequest && badName.errorCode == "invalid_topic")
                // Nothing was changed by the refusals.
                #expect(try await http.get("/v1/admin/topics/fresh.one").json["limits"] as? [String: Int] == ["capacity": 9, "max_bytes": 4096, "ttl_seconds": 30])
            }
        }
    }

    @Test func connectionsAreListedAndClosedWith1008() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=c.one,c.two")
            try await eventually("subscribed") { client.controls(type: "subscribed").count == 2 }
            try await broker.http { http in
                let list = try #require(try await http.get("/v1/admin/connections").json["connections"] as? [[String: Any]])
                #expect(list.count == 1)
                let connection = try #require(list.first)
                #expect(connection["transport"] as? String == "ws")
                #expect((connection["remote"] as? String)?.hasPrefix("127.0.0.1:") == true)
                #expect(connection["subscriptions"] as? [String] == ["c.one", "c.two"])
                #expect(connection["queued_bytes"] as? Int == 0 && connection["gaps"] as? Int == 0)
                let connectedAt = try #require(connection["connected_at"] as? Int64)
                #expect(abs(connectedAt - WallClock.micros()) < 60_000_000)
                let id = try #require(connection["id"] as? Int)

                let closed = try await http.delete("/v1/admin/connections/\(id)", body: ByteBuffer())
                #expect(closed.status == .noContent)
                try await eventually("closed") { client.closed != nil }
                #expect(client.closed??.closeCode == .policyViolation)
                try await eventually("unregistered") {
                    (try await http.get("/v1/admin/connections").json["connections"] as? [Any])?.isEmpty == true
                }
                for unknown in ["\(id)", "999999999", "abc"] {
                    let missing = try await http.delete("/v1/admin/connections/\(unknown)", body: ByteBuffer())
                    #expect(missing.status == .notFound && missing.errorCode == "connection_not_found")
                }
            }
        }
    }

    @Test func wrongMethodsAndUnknownAdminPaths() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let post = try await http.post("/v1/admin/stats", body: ByteBuffer())
                #expect(post.status == .methodNotAllowed && post.errorCode == "method_not_allowed")
                let put = try await http.put("/v1/admin/topics/x", body: ByteBuffer())
                #expect(put.status == .methodNotAllowed)
                let getConfig = try await http.get("/v1/admin/topics/x/config")
                #expect(getConfig.status == .methodNotAllowed)
                let postMetrics = try await http.post("/metrics", body: ByteBuffer())
                #expect(postMetrics.status == .methodNotAllowed)
                let unknown = try await http.get("/v1/admin/nothing")
                #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
                let page = try await http.get("/admin")
                #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.bodyText.contains("<title>Switchboard"))
                // Self-contained: nothing is loaded from elsewhere.
                #expect(!page.bodyText.contains("http://") && !page.bodyText.contains("https://") && !page.bodyText.contains("src="))
                let healthz = try await http.get("/healthz"), readyz = try await http.get("/readyz")
                #expect(healthz.status == .ok && readyz.status == .ok)
            }
        }
    }

    @Test func statsTopicCarriesSnapshotsOnlyWhileSubscribed() async throws {
        try await withBroker { broker in
            try await broker.http { http in try await broker.publish("s.one", "x", client: http) }
            try await Task.sleep(for: .milliseconds(300))
            let before = try await broker.getJSON("/v1/admin/topics?prefix=_switchboard")["topics"] as? [Any]
            #expect(before?.isEmpty == true)
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=_switchboard.stats")
            try await eventually("two snapshots", timeout: .seconds(5)) { client.seqs("_switchboard.stats").count >= 2 }
            let payload = try #require(client.frames.last?.events.last?.payload)
            let snapshot = parseJSON(String(buffer: payload))
            #expect((snapshot["stats"] as? [String: Any])?["events_published_total"] as? Int ?? 0 >= 1)
            let names = (snapshot["topics"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names?.contains("s.one") == true)
            let connections = snapshot["connections"] as? [[String: Any]]
            #expect(connections?.first?["subscriptions"] as? [String] == ["_switchboard.stats"])
            #expect((snapshot["totals"] as? [String: Int])?["connections"] == 1)
            try await client.close()
        }
    }
}

extension RunningBroker {
    /// GETs `path` and parses the JSON answer.
    func getJSON(_ path: String) async throws -> [String: Any] {
        parseJSON(try await http { http in try await http.get(path).bodyText })
    }
}
