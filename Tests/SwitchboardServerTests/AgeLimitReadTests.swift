import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

/// Events past the age limit are served by no read, on any transport; the newest stays.
@Suite(.serialized) struct AgeLimitReadTests {
    @Test func expiredEventsAreServedByNoRead() async throws {
        let configuration = BrokerConfiguration(engine: EngineConfiguration(ringLimits: RingLimits(ttlSeconds: 2)))
        try await withBroker(configuration) { broker in
            try await broker.http { http in
                // "set" gets its age limit from an operator instead of --ring-ttl.
                let put = try await http.put(
                    "/v1/admin/topics/set/config", headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"ttl_seconds":2}"#))
                #expect(put.status == .ok)
                for topic in ["t", "set"] {
                    let started = ContinuousClock.now
                    for i in 1...3 { try await broker.publish(topic, "\(i)", client: http) }
                    let fresh = (try await http.get("/v1/topics/\(topic)/events").json["events"] as? [Any])?.count
                    // Younger than the limit, all three are served (unless this loaded machine took the whole limit).
                    if ContinuousClock.now - started < .milliseconds(1800) { #expect(fresh == 3) }
                }
                try await Task.sleep(for: .milliseconds(2500))
                for topic in ["t", "set"] {
                    let history = try await http.get("/v1/topics/\(topic)/events").json
                    #expect((history["events"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [3], "\(topic): the newest stays")
                    #expect((history["gaps"] as? [[String: Any]])?.first?["to"] as? Int == 2, "\(topic)")
                }
                let poll = try await http.get("/v1/poll?topics=t&last=10&timeout=0").json
                #expect((poll["events"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [3])
            }
            let sse = try await SSEClient(port: broker.port, path: "/v1/sse?topics=t&last=10")
            try await eventually("the SSE replay") { !sse.messages.isEmpty }
            #expect(sse.messages.filter { $0.event == "message" }.map { $0.json["seq"] as? Int } == [3])
            await sse.close()
            let ws = try await TestSubscriber(url: broker.wsURL)
            try await ws.send(#"{"op":"subscribe","topic":"t","since":0,"id":1}"#)
            try await eventually("the WebSocket replay") { !ws.frames.isEmpty }
            #expect(ws.seqs("t") == [3])
            #expect(ws.controls(type: "gap").first?["to"] as? Int == 2)
            try await ws.close()
        }
    }
}
