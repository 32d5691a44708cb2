import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// Server-sent events over real sockets: ids, resume with Last-Event-ID, gaps, deletions, heartbeats, drain.
@Suite(.serialized)
struct SSETests {
    @Test func eventsArriveWithIdsThatResumeAsCursors() async throws {
        try await withBroker { broker in
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=s.a,s.b")
            try await eventually("the stream is open") { broker.broker.state.count(.sse) == 1 && stream.status != nil }
            #expect(stream.status == 200)
            #expect(stream.header("Content-Type") == "text/event-stream")
            try await broker.http { client in
                try await broker.publish("s.a", #"{"n":1}"#, client: client)
                try await broker.publish("s.b", "two", type: "text/plain", client: client)
                try await broker.publish("s.a", #"{"n":3}"#, client: client)
            }
            try await eventually("three messages") { stream.messages.count == 3 }
            let messages = stream.messages
            #expect(messages.map(\.event) == ["message", "message", "message"])
            #expect(messages.map { $0.json["topic"] as? String } == ["s.a", "s.b", "s.a"])
            #expect(messages.map { $0.json["seq"] as? Int } == [1, 1, 2])
            #expect(messages[1].json["data"] as? String == "two")
            #expect(Set(messages.compactMap(\.id)).count == 3, "every message has its own id")

            // The id after the second message is a cursor: a poll from it gets only the third.
            let id = try #require(messages[1].id)
            let poll = try await broker.http { try await $0.get("/v1/poll?topics=s.a,s.b&timeout=0&cursor=\(id)") }
            let events = poll.json["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["seq"] as? Int } == [2])
            await stream.close()
        }
    }

    @Test func reconnectingWithLastEventIDInTheMiddleOfABurstLosesAndRepeatsNothing() async throws {
        let topics = ["burst.a", "burst.b"]
        let perTopic = 400
        try await withBroker { broker in
            let start = try await broker.http { try await $0.get("/v1/poll?topics=burst.a,burst.b&timeout=0") }
            let cursor = try #require(start.json["cursor"] as? String)
            let path = "/v1/sse?topics=burst.a,burst.b&cursor=\(cursor)"
            let publisher = Task {
                try await broker.http { client in
                    for n in 1...perTopic {
                        for topic in topics { try await broker.publish(topic, #"{"n":\#(n)}"#, client: client) }
                    }
                }
            }
            let first = try await SSEClient(port: broker.port, path: path)
            try await eventually("part of the burst arrived", timeout: .seconds(30)) { first.messages.count >= 150 }
            let firstPart = first.messages
            await first.close()
            let lastID = try #require(firstPart.last?.id)

            // A browser reconnects to the same URL (its cursor is stale now) with Last-Event-ID.
            let second = try await SSEClient(port: broker.port, path: path, headers: [("Last-Event-ID", lastID)])
            try await publisher.value
            try await eventually("the rest arrived", timeout: .seconds(30)) {
                firstPart.count + second.messages.count >= perTopic * topics.count
            }
            try await Task.sleep(for: .milliseconds(100))
            var seen: [String: [Int]] = [:]
            for message in firstPart + second.messages {
                #expect(message.event == "message", "no gap or reset: \(message.data)")
                seen[message.json["topic"] as? String ?? "", default: []].append(message.json["seq"] as? Int ?? 0)
            }
            expectEveryEventOnceInOrder(seen, topics: topics, perTopic: perTopic)
            await second.close()
        }
    }

    @Test func gapsResetsAndDeletionsAreEventsOfTheirOwn() async throws {
        var configuration = BrokerConfiguration()
        configuration.engine.ringLimits.capacity = 3
        try await withBroker(configuration) { broker in
            try await broker.http { client in
                for n in 1...6 { try await broker.publish("gd", "\(n)", client: client) }
            }
            let start = try await broker.http { try await $0.get("/v1/topics/gd/events?since=0&limit=1") }
            #expect((start.json["gaps"] as? [[String: Any]])?.first?["to"] as? Int == 3)

            let first = try await broker.http { try await $0.get("/v1/poll?topics=gd&timeout=0&last=0") }
            // A cursor at seq 1 of this epoch: events 2 and 3 were evicted since.
            let firstCursor = try #require(first.json["cursor"] as? String)
            var stale = try #require(Cursor(decoding: firstCursor))
            stale.positions[0].seq = 1
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=gd&cursor=\(stale.encoded())")
            try await eventually("gap and events") { stream.messages.count == 4 }
            #expect(stream.messages.first?.event == "gap")
            #expect(stream.messages.first?.json["from"] as? Int == 2)
            #expect(stream.messages.first?.json["to"] as? Int == 3)
            #expect(stream.messages.dropFirst().map { $0.json["seq"] as? Int } == [4, 5, 6])

            #expect(broker.broker.engine.deleteTopic("gd"))
            try await eventually("deleted and reset") { stream.messages.count == 6 }
            #expect(stream.messages[4].event == "deleted")
            #expect(stream.messages[4].json["topic"] as? String == "gd")
            #expect(stream.messages[5].event == "reset")
            #expect(stream.messages[5].json["epoch"] as? String == broker.broker.engine.topicInfo("gd")?.epoch)
            try await broker.http { try await broker.publish("gd", "again", type: "text/plain", client: $0) }
            try await eventually("the new epoch's first event") { stream.messages.count == 7 }
            #expect(stream.messages[6].json["seq"] as? Int == 1)
            await stream.close()
        }
    }

    @Test func anIdleStreamGetsHeartbeatComments() async throws {
        var configuration = BrokerConfiguration()
        configuration.sseHeartbeatSeconds = 0.2
        try await withBroker(configuration) { broker in
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=quiet")
            try await eventually("two heartbeats") { stream.body.components(separatedBy: ": keep-alive\n\n").count >= 3 }
            #expect(stream.messages.isEmpty)
            await stream.close()
        }
    }

    @Test func sigtermEndsStreamsCleanly() async throws {
        try await withBroker { broker in
            let stream = try await SSEClient(port: broker.port, path: "/v1/sse?topics=bye")
            try await eventually("the stream is open") { broker.broker.state.count(.sse) == 1 }
            await broker.shutDown()
            try await eventually("the stream ended") { stream.ended }
            #expect(stream.body.hasSuffix("\n\n"), "the last message is complete")
            let refused = try? await SSEClient(port: broker.port, path: "/v1/sse?topics=bye")
            if let refused {
                try await eventually("a new stream is refused or the port closed") { refused.ended }
                #expect(refused.status == nil || refused.status == 503)
            }
        }
    }
}
