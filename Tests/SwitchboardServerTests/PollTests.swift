import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// Long-poll over real sockets: waiting, timeouts, chained cursors, gaps, resets, limits.
@Suite(.serialized)
struct PollTests {
    @Test func aWaitingPollReturnsTheEventPublishedWhileItWaits() async throws {
        try await withBroker { broker in
            let clock = ContinuousClock()
            let start = clock.now
            async let answer = broker.http { try await $0.get("/v1/poll?topics=ticks&timeout=10") }
            try await eventually("the poll waits") { broker.broker.waitingPolls.current == 1 }
            try await broker.http { try await broker.publish("ticks", #"{"price":187.12}"#, client: $0) }
            let response = try await answer
            #expect(response.status == .ok)
            let events = response.json["events"] as? [[String: Any]] ?? []
            #expect(events.count == 1)
            #expect(events.first?["seq"] as? Int == 1)
            #expect((events.first?["data"] as? [String: Any])?["price"] as? Double == 187.12)
            #expect(clock.now - start < .seconds(5), "the poll answered at the publish, not at its timeout")
        }
    }

    @Test func aTimeoutAnswers200WithNoEventsAndACursorThatStillWorks() async throws {
        try await withBroker { broker in
            try await broker.http { client in
                let clock = ContinuousClock()
                let start = clock.now
                let empty = try await client.get("/v1/poll?topics=a,b&timeout=0.3")
                #expect(empty.status == .ok)
                #expect(clock.now - start >= .milliseconds(290))
                #expect((empty.json["events"] as? [Any])?.isEmpty == true)
                #expect((empty.json["gaps"] as? [Any])?.isEmpty == true)
                let cursor = try #require(empty.json["cursor"] as? String)
                #expect(cursor.utf8.allSatisfy(TopicName.isURLSafe), "the cursor is URL-safe")

                try await broker.publish("b", "hello", type: "text/plain", client: client)
                let next = try await client.get("/v1/poll?topics=a,b&timeout=0&cursor=\(cursor)")
                let events = next.json["events"] as? [[String: Any]] ?? []
                #expect(events.map { $0["topic"] as? String } == ["b"])
                #expect(events.first?["data"] as? String == "hello")
                #expect(events.first?["type"] as? String == "text/plain")
            }
        }
    }

    @Test func chainedCursorsReturnEveryEventOnceAndInOrderWhilePublishing() async throws {
        let topics = ["chain.a", "chain.b", "chain.c"]
        let perTopic = 1000
        try await withBroker { broker in
            let first = try await broker.http { try await $0.get("/v1/poll?topics=\(topics.joined(separator: ","))&timeout=0") }
            let firstCursor = try #require(first.json["cursor"] as? String)

            let publisher = Task {
                try await broker.http { client in
                    for n in 1...perTopic {
                        for topic in topics.shuffled() {
                            try await broker.publish(topic, #"{"n":\#(n)}"#, client: client)
                        }
                    }
                }
            }
            let (received, gapCount) = try await broker.http { client in
                var received: [String: [Int]] = [:]
                var gapCount = 0
                var cursor = firstCursor
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(60))
                while received.values.reduce(0, { $0 + $1.count }) < perTopic * topics.count, clock.now < deadline {
                    let response = try await client.get("/v1/poll?topics=\(topics.joined(separator: ","))&cursor=\(cursor)&limit=50&timeout=5")
                    #expect(response.status == .ok)
                    let events = response.json["events"] as? [[String: Any]] ?? []
                    #expect(events.count <= 50)
                    gapCount += (response.json["gaps"] as? [Any])?.count ?? 0
                    for event in events {
                        let topic = try #require(event["topic"] as? String)
                        let seq = try #require(event["seq"] as? Int)
                        #expect((event["data"] as? [String: Any])?["n"] as? Int == seq, "payload n matches seq")
                        received[topic, default: []].append(seq)
                    }
                    cursor = try #require(response.json["cursor"] as? String)
                }
                return (received, gapCount)
            }
            try await publisher.value
            #expect(gapCount == 0)
            expectEveryEventOnceInOrder(received, topics: topics, perTopic: perTopic)
        }
    }

    @Test func evictedEventsBecomeExactGaps() async throws {
        var configuration = BrokerConfiguration()
        configuration.engine.ringLimits.capacity = 5
        try await withBroker(configuration) { broker in
            try await broker.http { client in
                let first = try await client.get("/v1/poll?topics=g&timeout=0")
                let cursor = try #require(first.json["cursor"] as? String)
                for n in 1...12 { try await broker.publish("g", "\(n)", client: client) }
                let response = try await client.get("/v1/poll?topics=g&timeout=0&cursor=\(cursor)")
                let gaps = response.json["gaps"] as? [[String: Any]] ?? []
                #expect(gaps.count == 1)
                #expect(gaps.first?["topic"] as? String == "g")
                #expect(gaps.first?["from"] as? Int == 1)
                #expect(gaps.first?["to"] as? Int == 7)
                let seqs = (response.json["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
                #expect(seqs == Array(8...12))

                // The gap is told once: the next cursor starts after it.
                let next = try #require(response.json["cursor"] as? String)
                let again = try await client.get("/v1/poll?topics=g&timeout=0&cursor=\(next)")
                #expect((again.json["gaps"] as? [Any])?.isEmpty == true)
                #expect((again.json["events"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func aCursorFromAnOldEpochRestartsAtTheCurrentBufferAndSaysSo() async throws {
        var configuration = BrokerConfiguration()
        configuration.engine.ringLimits.capacity = 5
        try await withBroker(configuration) { broker in
            try await broker.http { client in
                for n in 1...3 { try await broker.publish("e", "\(n)", client: client) }
                let before = try await client.get("/v1/poll?topics=e&timeout=0&last=3")
                #expect((before.json["events"] as? [Any])?.count == 3)
                let oldCursor = try #require(before.json["cursor"] as? String)

                #expect(broker.broker.engine.deleteTopic("e"))
                var epoch = ""
                for n in 1...7 { epoch = parseJSON(try await broker.publish("e", "new \(n)", client: client))["epoch"] as? String ?? "" }

                let response = try await client.get("/v1/poll?topics=e&timeout=0&cursor=\(oldCursor)")
                let resets = response.json["resets"] as? [[String: Any]] ?? []
                #expect(resets.count == 1)
                #expect(resets.first?["topic"] as? String == "e")
                #expect(resets.first?["epoch"] as? String == epoch)
                let gaps = response.json["gaps"] as? [[String: Any]] ?? []
                #expect(gaps.first?["from"] as? Int == 1)
                #expect(gaps.first?["to"] as? Int == 2, "the new epoch's buffer no longer begins at 1")
                let seqs = (response.json["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
                #expect(seqs == Array(3...7))
            }
        }
    }

    @Test func lastGivesTheNewestBufferedEventsPerTopic() async throws {
        try await withBroker { broker in
            try await broker.http { client in
                for n in 1...5 { try await broker.publish("l.a", "\(n)", client: client) }
                try await broker.publish("l.b", "1", client: client)
                let response = try await client.get("/v1/poll?topics=l.a,l.b&last=2&timeout=0")
                let events = response.json["events"] as? [[String: Any]] ?? []
                let pairs = events.map { "\($0["topic"] as? String ?? "")#\($0["seq"] as? Int ?? 0)" }
                #expect(pairs.sorted() == ["l.a#4", "l.a#5", "l.b#1"])
            }
        }
    }

    @Test func theWaitingPollLimitAnswers429AndOthersAreStillServed() async throws {
        var configuration = BrokerConfiguration()
        configuration.maxWaitingPolls = 2
        try await withBroker(configuration) { broker in
            async let first = broker.http { try await $0.get("/v1/poll?topics=w&timeout=10") }
            async let second = broker.http { try await $0.get("/v1/poll?topics=w&timeout=10") }
            try await eventually("two polls wait") { broker.broker.waitingPolls.current == 2 }
            try await broker.http { client in
                let refused = try await client.get("/v1/poll?topics=w&timeout=10")
                #expect(refused.status == .tooManyRequests)
                #expect(refused.errorCode == "limit_reached")
                let history = try await client.get("/v1/topics/w/events")
                #expect(history.status == .ok)
                try await broker.publish("w", "go", type: "text/plain", client: client)
            }
            for response in try await [first, second] {
                #expect((response.json["events"] as? [[String: Any]])?.first?["data"] as? String == "go")
            }
            #expect(broker.broker.waitingPolls.current == 0)
        }
    }

    @Test func badInputIs400WithTheContractsError() async throws {
        try await withBroker { broker in
            try await broker.http { client in
                let valid = try await client.get("/v1/poll?topics=x&timeout=0")
                let cursor = try #require(valid.json["cursor"] as? String)
                var garbled = Array(cursor)
                garbled[garbled.count / 2] = garbled[garbled.count / 2] == "A" ? "B" : "A"
                let other = try await client.get("/v1/poll?topics=y&timeout=0")
                let otherCursor = try #require(other.json["cursor"] as? String)

                let cases: [(String, String)] = [
                    ("/v1/poll?topics=x&cursor=garbage", "invalid_cursor"),
                    ("/v1/poll?topics=x&cursor=\(String(garbled))", "invalid_cursor"),
                    ("/v1/poll?topics=x&cursor=\(cursor.dropLast(3))", "invalid_cursor"),
                    ("/v1/poll?topics=x&cursor=\(otherCursor)", "invalid_cursor"),
                    ("/v1/poll?topics=x,y&cursor=\(cursor)", "invalid_cursor"),
                    ("/v1/poll?topics=x&timeout=abc", "invalid_request"),
                    ("/v1/poll?topics=x&timeout=-1", "invalid_request"),
                    ("/v1/poll?topics=x&timeout=121", "invalid_request"),
                    ("/v1/poll?topics=x&limit=0", "invalid_request"),
                    ("/v1/poll?topics=x&limit=100000", "invalid_request"),
                    ("/v1/poll?topics=x&limit=ten", "invalid_request"),
                    ("/v1/poll?topics=x&last=-2", "invalid_request"),
                    ("/v1/poll?topics=x&last=2&cursor=\(cursor)", "invalid_request"),
                    ("/v1/poll", "invalid_request"),
                    ("/v1/poll?topics=", "invalid_topic"),
                    ("/v1/poll?topics=a..b", "invalid_topic"),
                    ("/v1/poll?topics=x,.y", "invalid_topic"),
                    ("/v1/topics/a..b/events", "invalid_topic"),
                    ("/v1/topics/x/events?since=-1", "invalid_request"),
                    ("/v1/topics/x/events?limit=0", "invalid_request"),
                    ("/v1/topics/x/events?limit=1001", "invalid_request"),
                    ("/v1/sse?topics=x&cursor=garbage", "invalid_cursor"),
                    ("/v1/sse", "invalid_request"),
                ]
                for (uri, code) in cases {
                    let response = try await client.get(uri)
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(response.errorCode == code, "\(uri): \(response.bodyText)")
                    #expect(response.headers[.contentType] == "application/json", "\(uri)")
                }
                let wrongMethod = try await client.post("/v1/poll?topics=x", body: ByteBuffer())
                #expect(wrongMethod.status == .methodNotAllowed)
            }
        }
    }

    @Test func sigtermAnswersWaitingPollsWithWhatTheyHave() async throws {
        try await withBroker { broker in
            let clock = ContinuousClock()
            let start = clock.now
            async let waiting = broker.http { try await $0.get("/v1/poll?topics=d&timeout=60") }
            try await eventually("the poll waits") { broker.broker.waitingPolls.current == 1 }
            await broker.shutDown()
            let response = try await waiting
            #expect(response.status == .ok)
            #expect((response.json["events"] as? [Any])?.isEmpty == true)
            #expect(response.json["cursor"] is String)
            #expect(clock.now - start < .seconds(10))
        }
    }
}
