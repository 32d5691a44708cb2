import Foundation
import HummingbirdTesting
import NIOCore
@testable import SwitchboardServer
import Testing

/// The admin API and metrics see every transport: WebSocket, long-poll and SSE.
@Suite(.serialized) struct AdminTransportsTests {
    @Test func subscribersAndConnectionsOfEveryTransport() async throws {
        try await withBroker { broker in
            let ws = try await TestSubscriber(url: broker.wsURL + "?topics=mix")
            let sse = try await SSEClient(port: broker.port, path: "/v1/sse?topics=mix,other")
            let poll = Task {
                try await broker.http { http in try await http.get("/v1/poll?topics=mix&timeout=20").status }
            }
            try await eventually("three transports") {
                let topic = try await broker.getJSON("/v1/admin/topics/mix")
                return topic["subscribers"] as? [String: Int] == ["ws": 1, "poll": 1, "sse": 1]
            }
            let stats = try await broker.getJSON("/v1/admin/stats")
            #expect(stats["connections"] as? [String: Int] == ["ws": 1, "poll": 1, "sse": 1])
            let metrics = parseMetrics(try await broker.http { http in try await http.get("/metrics").bodyText })
            for transport in ["ws", "poll", "sse"] {
                #expect(metrics.value("switchboard_connections", ["transport": transport]) == 1, "\(transport)")
            }
            #expect(metrics.value("switchboard_subscriptions", ["transport": "sse"]) == 2)

            let connections = try #require(try await broker.getJSON("/v1/admin/connections")["connections"] as? [[String: Any]])
            let byTransport = Dictionary(uniqueKeysWithValues: connections.compactMap { c in (c["transport"] as? String).map { ($0, c) } })
            #expect(byTransport["sse"]?["subscriptions"] as? [String] == ["mix", "other"])
            #expect(byTransport["poll"]?["subscriptions"] as? [String] == ["mix"])

            // An operator ends the SSE stream and the waiting poll.
            for transport in ["sse", "poll"] {
                let id = try #require(byTransport[transport]?["id"] as? Int)
                let answer = try await broker.http { http in try await http.delete("/v1/admin/connections/\(id)", body: ByteBuffer()).status }
                #expect(answer == .noContent)
            }
            try await eventually("the stream ended") { sse.ended }
            #expect(try await poll.value == .ok)
            try await eventually("only the WebSocket left") {
                (try await broker.getJSON("/v1/admin/connections")["connections"] as? [Any])?.count == 1
            }
            await sse.close()
            try await ws.close()
        }
    }

    @Test func pollAndSSEDeliveriesAreCountedInMetrics() async throws {
        try await withBroker { broker in
            let sse = try await SSEClient(port: broker.port, path: "/v1/sse?topics=counted")
            try await eventually("the stream is open") { sse.status != nil }
            async let poll = broker.http { http in try await http.get("/v1/poll?topics=counted&timeout=20") }
            try await eventually("the poll waits") { (try await broker.getJSON("/v1/admin/stats")["connections"] as? [String: Int])?["poll"] == 1 }
            try await broker.http { http in
                for n in 1...3 { try await broker.publish("counted", #"{"n":\#(n)}"#, client: http) }
            }
            let answered = try await poll
            let polled = (answered.json["events"] as? [Any])?.count ?? 0
            #expect(polled >= 1)
            try await eventually("three SSE messages") { sse.messages.count == 3 }
            let metrics = parseMetrics(try await broker.http { http in try await http.get("/metrics").bodyText })
            #expect(metrics.value("switchboard_events_delivered_total", ["transport": "poll"]) == Double(polled))
            #expect(metrics.value("switchboard_events_delivered_total", ["transport": "sse"]) == 3)
            let pollBytes = metrics.value("switchboard_bytes_sent_total", ["transport": "poll", "encoding": "identity"]) ?? 0
            #expect(pollBytes == Double(answered.body?.readableBytes ?? -1))
            #expect((metrics.value("switchboard_bytes_sent_total", ["transport": "sse", "encoding": "identity"]) ?? 0) > 0)
            await sse.close()
        }
    }

    /// Clients that close their sockets without a word (an SSE reader, a waiting poll, a
    /// WebSocket) leave the counts within a second, not at the next heartbeat write.
    @Test func closedClientsOfEveryTransportLeaveTheCountsWithinASecond() async throws {
        try await withBroker(BrokerConfiguration(sseHeartbeatSeconds: 60)) { broker in
            let sse = try RawHTTPSocket(port: broker.port)
            try sse.send("GET /v1/sse?topics=gone HTTP/1.1\r\nHost: x\r\n\r\n")
            let poll = try RawHTTPSocket(port: broker.port)
            try poll.send("GET /v1/poll?topics=gone&timeout=60 HTTP/1.1\r\nHost: x\r\n\r\n")
            let ws = try RawHTTPSocket(port: broker.port)
            try ws.send(
                "GET /v1/ws?topics=gone HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            try await eventually("three transports") {
                (try await broker.getJSON("/v1/admin/stats")["connections"] as? [String: Int]) == ["ws": 1, "poll": 1, "sse": 1]
            }
            sse.close()
            poll.close()
            ws.close()
            let closed = ContinuousClock.now
            // Watched in the broker itself, so the time measured is the broker's, not that of
            // admin requests waiting their turn on a test machine running many suites at once.
            while broker.broker.state.connectionCount > 0 || (broker.broker.engine.topicInfo("gone")?.subscribers ?? 0) > 0,
                ContinuousClock.now - closed < .seconds(5)
            {
                try await Task.sleep(for: .milliseconds(5))
            }
            let elapsed = ContinuousClock.now - closed
            try await eventually("every count falls in the admin API") {
                let stats = try await broker.getJSON("/v1/admin/stats")["connections"] as? [String: Int]
                let topic = try await broker.getJSON("/v1/admin/topics/gone")["subscribers"] as? [String: Int]
                return stats == ["ws": 0, "poll": 0, "sse": 0] && topic == ["ws": 0, "poll": 0, "sse": 0]
            }
            #expect(elapsed < .seconds(1))
        }
    }
}
