import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

/// `positions=<topic>:<epoch>:<seq>,…` on poll and SSE resumes exactly as a cursor holding those values.
@Suite(.serialized) struct PositionsResumeTests {
    static let configuration = BrokerConfiguration(engine: EngineConfiguration(ringLimits: RingLimits(capacity: 4)))

    func seqs(_ answer: [String: Any], topic: String = "a") -> [Int] {
        (answer["events"] as? [[String: Any]] ?? []).filter { $0["topic"] as? String == topic }.compactMap { $0["seq"] as? Int }
    }

    @Test func pollResumesAfterThePositionWithGapsResetsAndLiveTopics() async throws {
        try await withBroker(Self.configuration) { broker in
            try await broker.http { http in
                for i in 1...6 { try await broker.publish("a", "\(i)", client: http) }  // seqs 3...6 stay buffered
                for i in 1...2 { try await broker.publish("b", "\(i)", client: http) }
                let epoch = try #require(try await http.get("/v1/topics/a/events").json["epoch"] as? String)

                let after = try await http.get("/v1/poll?topics=a&positions=a:\(epoch):4&timeout=0").json
                #expect(seqs(after) == [5, 6])
                #expect((after["gaps"] as? [Any])?.isEmpty == true && (after["resets"] as? [Any])?.isEmpty == true)

                let gap = try await http.get("/v1/poll?topics=a&positions=a:\(epoch):1&timeout=0").json
                #expect(seqs(gap) == [3, 4, 5, 6])
                #expect((gap["gaps"] as? [[String: Any]])?.map { [$0["from"] as? Int, $0["to"] as? Int] } == [[2, 2]])

                let stale = try await http.get("/v1/poll?topics=a&positions=a:old0epoch:4&timeout=0").json
                #expect((stale["resets"] as? [[String: Any]])?.first?["epoch"] as? String == epoch)
                #expect(seqs(stale) == [3, 4, 5, 6], "a stale epoch restarts at the current buffer")

                // "b" has no triple: it starts live, then follows the cursor like any other topic.
                let mixed = try await http.get("/v1/poll?topics=a,b&positions=a:\(epoch):5&timeout=0").json
                #expect(seqs(mixed) == [6] && seqs(mixed, topic: "b").isEmpty)
                let cursor = try #require(mixed["cursor"] as? String)
                try await broker.publish("b", "3", client: http)
                let next = try await http.get("/v1/poll?topics=a,b&cursor=\(cursor)&timeout=0").json
                #expect(seqs(next, topic: "b") == [3] && seqs(next).isEmpty)
            }
        }
    }

    @Test func everyBadShapeIs400() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let cursor = try #require(try await http.get("/v1/poll?topics=a&timeout=0").json["cursor"] as? String)
                for query in [
                    "positions=a:e:1&cursor=\(cursor)", "positions=a:e:1&last=2", "positions=a:e", "positions=a:e:1:2", "positions=",
                    "positions=z:e:1", "positions=a:e:1,a:e:2", "positions=a:e:-1", "positions=a:e:1.5", "positions=a:e:x", "positions=a::1",
                ] {
                    let response = try await http.get("/v1/poll?topics=a&timeout=0&\(query)")
                    #expect(response.status == .badRequest && response.errorCode == "invalid_request", "\(query): \(response.bodyText)")
                }
                let sse = try await http.get("/v1/sse?topics=a&positions=a:e")
                #expect(sse.status == .badRequest && sse.errorCode == "invalid_request")
            }
        }
    }

    @Test func sseResumesFromPositionsAndLastEventIDWinsOverThem() async throws {
        try await withBroker(Self.configuration) { broker in
            let epoch = try await broker.http { http in
                for i in 1...6 { try await broker.publish("a", "\(i)", client: http) }
                return try #require(try await http.get("/v1/topics/a/events").json["epoch"] as? String)
            }
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=a&positions=a:\(epoch):4")
            try await eventually("two events") { stream.messages.count >= 2 }
            #expect(stream.messages.map { $0.json["seq"] as? Int } == [5, 6])
            let resumeFrom = try #require(stream.messages.first?.id)
            await stream.close()
            // A browser reconnects to the same URL with Last-Event-ID: that position wins.
            let again = try await SSEClient(port: broker.port, path: "/v1/sse?topics=a&positions=a:\(epoch):4", headers: [("Last-Event-ID", resumeFrom)])
            try await eventually("one event") { again.messages.count >= 1 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(again.messages.map { $0.json["seq"] as? Int } == [6])
            await again.close()
        }
    }
}
