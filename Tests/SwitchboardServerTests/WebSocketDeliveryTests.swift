import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardServer
import Testing

@Suite(.serialized) struct WebSocketDeliveryTests {
    @Test func publishThenReceive() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL)
            try await client.send(#"{"op":"subscribe","topic":"stocks.AAPL","id":1}"#)
            try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
            let subscribed = client.controls(type: "subscribed")[0]
            #expect(subscribed["topic"] as? String == "stocks.AAPL" && subscribed["id"] as? Int == 1 && subscribed["seq"] as? Int == 0)
            let answer = parseJSON(try await broker.http { http in try await broker.publish("stocks.AAPL", #"{"p":187.1}"#, client: http) })
            #expect(answer["seq"] as? Int == 1 && answer["epoch"] as? String == subscribed["epoch"] as? String)
            try await eventually("the event") { client.seqs("stocks.AAPL") == [1] }
            let event = client.frames[0].events[0]
            #expect(String(buffer: event.payload) == #"{"p":187.1}"#)
            #expect(event.ts == answer["ts"] as? Int64)
            try await client.close()
        }
    }

    @Test func fiftySubscribersEachGetAll2000EventsInOrderOnce() async throws {
        try await withBroker { broker in
            var clients: [TestSubscriber] = []
            for _ in 0..<50 { clients.append(try await TestSubscriber(url: broker.wsURL + "?topics=ticks")) }
            try await eventually("50 subscriptions") { [clients] in clients.allSatisfy { !$0.controls(type: "subscribed").isEmpty } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        try await broker.http { http in
                            for i in 0..<500 { try await broker.publish("ticks", #"{"w":\#(worker),"i":\#(i)}"#, client: http) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await eventually("2000 events everywhere", timeout: .seconds(30)) { [clients] in clients.allSatisfy { $0.seqs("ticks").count >= 2000 } }
            for client in clients {
                #expect(client.seqs("ticks") == Array(1...2000))
                #expect(client.controls(type: "gap").isEmpty)
            }
            // Under this load several events share a frame somewhere.
            #expect(clients.contains { $0.frames.contains { $0.events.count > 1 } })
            for client in clients { try await client.close() }
        }
    }

    @Test func replayWithSinceLastAndStaleEpoch() async throws {
        try await withBroker { broker in
            try await broker.http { http in for i in 1...10 { try await broker.publish("r", "\(i)", client: http) } }
            let client = try await TestSubscriber(url: broker.wsURL)
            try await client.send(#"{"op":"subscribe","topic":"r","since":6,"id":"a"}"#)
            try await eventually("since replay") { client.seqs("r") == [7, 8, 9, 10] }
            let epoch = try #require(client.controls(type: "subscribed").first?["epoch"] as? String)
            try await client.send(#"{"op":"unsubscribe","topic":"r","id":"b"}"#)
            try await eventually("unsubscribed") { client.controls(type: "unsubscribed").first?["id"] as? String == "b" }

            let last = try await TestSubscriber(url: broker.wsURL)
            try await last.send(#"{"op":"subscribe","topic":"r","last":3}"#)
            try await eventually("last replay") { last.seqs("r") == [8, 9, 10] }

            let stale = try await TestSubscriber(url: broker.wsURL)
            try await stale.send(#"{"op":"subscribe","topic":"r","since":9,"epoch":"not-\#(epoch)"}"#)
            try await eventually("reset replay") { stale.seqs("r") == Array(1...10) }
            #expect(stale.controls(type: "subscribed").first?["reset"] as? Bool == true)

            // A seq this epoch never reached (the largest a client can send) restarts too: nothing is skipped.
            let future = try await TestSubscriber(url: broker.wsURL)
            try await future.send(#"{"op":"subscribe","topic":"r","since":18446744073709551615}"#)
            try await eventually("future replay") { future.seqs("r") == Array(1...10) }
            #expect(future.controls(type: "subscribed").first?["reset"] as? Bool == true)
            try await future.close()

            let current = try await TestSubscriber(url: broker.wsURL)
            try await current.send(#"{"op":"subscribe","topic":"r","since":9,"epoch":"\#(epoch)"}"#)
            try await eventually("current-epoch replay") { current.seqs("r") == [10] }
            #expect(current.controls(type: "subscribed").first?["reset"] as? Bool == false)
            for c in [client, last, stale, current] { try await c.close() }
        }
    }

    @Test func gapAfterEvictionNamesExactlyTheEvictedRange() async throws {
        try await withBroker(BrokerConfiguration(engine: EngineConfiguration(ringLimits: RingLimits(capacity: 10)))) { broker in
            try await broker.http { http in for i in 1...30 { try await broker.publish("g", "\(i)", client: http) } }
            let client = try await TestSubscriber(url: broker.wsURL)
            try await client.send(#"{"op":"subscribe","topic":"g","since":5}"#)
            try await eventually("replay") { client.seqs("g").count == 10 }
            let gap = try #require(client.controls(type: "gap").first)
            #expect(gap["from"] as? Int == 6 && gap["to"] as? Int == 20)
            #expect(client.seqs("g") == Array(21...30))
            // The gap comes after `subscribed` and before the first event after the hole.
            #expect(client.messages.map(\.description).prefix(2).map { $0.contains("\"type\":\"subscribed\"") || $0.contains("\"type\":\"gap\"") } == [true, true])
            try await client.close()
        }
    }

    @Test func twoTopicsOnOneConnectionAndUnsubscribe() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=a,b")
            try await eventually("two subscriptions") { client.controls(type: "subscribed").count == 2 }
            try await broker.http { http in
                try await broker.publish("a", "1", client: http)
                try await broker.publish("b", "1", client: http)
                try await broker.publish("a", "2", client: http)
            }
            try await eventually("both topics") { client.seqs("a") == [1, 2] && client.seqs("b") == [1] }
            try await client.send(#"{"op":"unsubscribe","topic":"a","id":7}"#)
            try await eventually("unsubscribed") { !client.controls(type: "unsubscribed").isEmpty }
            try await broker.http { http in
                try await broker.publish("a", "3", client: http)
                try await broker.publish("b", "2", client: http)
            }
            try await eventually("b continues") { client.seqs("b") == [1, 2] }
            #expect(client.seqs("a") == [1, 2])
            try await client.send(#"{"op":"unsubscribe","topic":"a","id":8}"#)
            try await eventually("not_subscribed") { client.controls(type: "error").first?["code"] as? String == "not_subscribed" }
            try await client.close()
        }
    }

    @Test func aClientThatNeverReadsGetsAGapAndOthersAreUnaffected() async throws {
        // The queue leaves the fast client 32 events of slack: with 8 (64 KiB) it fell behind
        // whenever the whole suite ran beside it on two loaded cores, and got a gap.
        let configuration = BrokerConfiguration(engine: EngineConfiguration(ringLimits: RingLimits(capacity: 100_000, maxBytes: 1 << 30)), subscriberQueueBytes: 256 * 1024)
        try await withBroker(configuration) { broker in
            let slow = try await TestSubscriber(url: broker.wsURL + "?topics=flood", reading: false)
            let fast = try await TestSubscriber(url: broker.wsURL + "?topics=flood")
            try await eventually("fast subscribed") { !fast.controls(type: "subscribed").isEmpty }
            let payload = String(repeating: "x", count: 8 * 1024)
            let count = 2000  // 16 MB: more than the slow client's socket buffers and queue hold
            try await broker.http { http in for _ in 0..<count { try await broker.publish("flood", payload, type: "text/plain", client: http) } }
            try await eventually("fast got everything", timeout: .seconds(30)) { fast.seqs("flood").count == count }
            #expect(fast.seqs("flood") == Array(1...UInt64(count)))
            #expect(fast.controls(type: "gap").isEmpty)

            slow.startReading()
            try await eventually("slow reaches the newest", timeout: .seconds(30)) { slow.seqs("flood").last == UInt64(count) }
            let gaps = slow.controls(type: "gap")
            #expect(!gaps.isEmpty, "the slow client was told what it missed")
            var covered = slow.seqs("flood")
            #expect(Set(covered).count == covered.count, "nothing twice")
            for gap in gaps { covered += Array(UInt64(gap["from"] as! Int)...UInt64(gap["to"] as! Int)) }
            #expect(covered.sorted() == Array(1...UInt64(count)), "every event delivered or named by a gap, exactly once")
            try await slow.close()
            try await fast.close()
        }
    }

    @Test func sigtermDrainSendsGoingAway() async throws {
        try await withBroker { broker in
            let client = try await TestSubscriber(url: broker.wsURL + "?topics=t")
            try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
            await broker.shutDown()
            try await eventually("closed") { client.closed != nil }
            #expect(client.closed??.closeCode == .goingAway)
        }
    }
}
