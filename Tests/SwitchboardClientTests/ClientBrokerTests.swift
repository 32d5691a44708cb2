import Foundation
import SwitchboardClient
import SwitchboardServer
import Testing

/// The client against a real broker on 127.0.0.1, over real sockets.
@Suite struct ClientBrokerTests {
    @Test func subscribeAndReceive() async throws {
        try await withBroker { broker in
            let client = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            let topic = topicName("basic")
            let subscription = client.subscribe(topic)
            let received = Collector.start(subscription)
            try await eventually("subscribed") { subscription.position.seq != nil }
            try await client.publish(topic, text: "hello")
            try await client.publish(topic, json: ["price": 187.5])
            try await client.publish(topic, data: Data([0, 1, 2, 255]))
            let items = try await received.wait(for: 3)
            #expect(seqs(items) == [1, 2, 3])
            guard case .event(let first) = items[0], case .event(let second) = items[1], case .event(let third) = items[2] else {
                Issue.record("expected three events: \(items)")
                return
            }
            #expect(first.topic == topic && first.text == "hello")
            #expect(try second.decode([String: Double].self) == ["price": 187.5])
            #expect(third.bytes == [0, 1, 2, 255])
            #expect(abs(first.date.timeIntervalSinceNow) < 60)
            #expect(subscription.position.seq == 3 && subscription.position.epoch?.isEmpty == false)
            #expect(client.state == .connected)
            await client.close()
        }
    }

    @Test func manyTopicsShareOneConnection() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let topics = (0..<3).map { topicName("multi\($0)") }
            let subscriptions = topics.map { client.subscribe($0) }
            let collectors = subscriptions.map(Collector.start)
            try await eventually("all subscribed") { subscriptions.allSatisfy { $0.position.seq != nil } }
            let connections = try await broker.wsConnections()
            #expect(connections.count == 1)
            #expect(Set(connections.first?.subscriptions ?? []) == Set(topics))
            try await client.publishBatch(topics.flatMap { topic in (1...2).map { .bytes(topic, Data("\(topic)-\($0)".utf8)) } })
            for (topic, collector) in zip(topics, collectors) {
                let items = try await collector.wait(for: 2)
                #expect(seqs(items) == [1, 2])
                #expect(items.allSatisfy { if case .event(let event) = $0 { event.topic == topic } else { false } })
            }
            // Unsubscribing one ends its iteration and leaves the others.
            await subscriptions[0].unsubscribe()
            #expect(try await collectors[0].waitForEnd() == .finished)
            try await eventually("unsubscribed at the broker") { try await broker.wsConnections().first?.subscriptions.count == 2 }
            await client.close()
        }
    }

    @Test func leavingTheLoopUnsubscribes() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let topic = topicName("leave")
            try await client.publishBatch((1...3).map { .bytes(topic, Data("\($0)".utf8)) })
            var seen: [UInt64] = []
            for try await item in client.subscribe(topic, since: 0) {
                if case .event(let event) = item { seen.append(event.seq) }
                if seen.count == 2 { break }
            }
            #expect(seen == [1, 2])
            // The topic is free again on this client at once.
            let again = Collector.start(client.subscribe(topic, since: 2))
            #expect(seqs(try await again.wait(for: 1)) == [3])
            again.cancel()  // a cancelled task unsubscribes too
            try await eventually("unsubscribed at the broker") { try await broker.wsConnections().first?.subscriptions == [] }
            await client.close()
        }
    }

    @Test func replaySinceAndLast() async throws {
        try await withBroker { broker in
            let client = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            let topic = topicName("replay")
            let receipts = try await client.publishBatch((1...10).map { .bytes(topic, Data("\($0)".utf8)) })
            let epoch = receipts[0].epoch
            let since = Collector.start(client.subscribe(topic, since: 6, epoch: epoch))
            #expect(seqs(try await since.wait(for: 4)) == [7, 8, 9, 10])
            let other = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            let last = Collector.start(other.subscribe(topic, last: 3))
            #expect(seqs(try await last.wait(for: 3)) == [8, 9, 10])
            try await client.publish(topic, text: "11")
            #expect(seqs(try await since.wait(for: 5)) == [7, 8, 9, 10, 11])
            #expect(seqs(try await last.wait(for: 4)) == [8, 9, 10, 11])
            await client.close()
            await other.close()
        }
    }

    @Test func subscribeErrorsEndIterationWithTheReason() async throws {
        try await withBroker { broker in
            let client = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            let bad = Collector.start(client.subscribe("not..a.topic"))
            guard case .failed(.broker(let code, _, nil, nil)) = try await bad.waitForEnd() else {
                Issue.record("expected a broker error, got \(String(describing: bad.ending))")
                return
            }
            #expect(code == "invalid_topic")
            let both = Collector.start(client.subscribe("a", since: 1, last: 2))
            if case .failed(.invalidArgument) = try await both.waitForEnd() {} else { Issue.record("since with last: \(String(describing: both.ending))") }
            let topic = topicName("twice")
            let first = client.subscribe(topic)
            let second = Collector.start(client.subscribe(topic))
            #expect(try await second.waitForEnd() == .failed(.alreadySubscribed(topic: topic)))
            _ = first
            #expect(client.state == .connected)  // an error message leaves the connection open
            await client.close()
        }
    }

    @Test func zstdFramesAreDecoded() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let topic = topicName("zstd")
            let payload = String(repeating: "compressible text, ", count: 200)
            for compression in [SwitchboardClient.Configuration.Compression.zstd, .none] {
                let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: fastConfiguration(compression: compression))
                let received = Collector.start(client.subscribe(topic, since: 0))
                try await client.publish(topic, text: payload + "\(compression)")
                let items = try await received.wait(for: 1)
                guard case .event(let event) = items.last else { Issue.record("no event"); return }
                #expect(event.text == payload + "\(compression)")
                await client.close()
            }
            let (_, stats) = try await broker.admin(.get, "/v1/admin/stats")
            let sent = (stats["bytes_sent_total"] as? Int) ?? 0
            let uncompressed = (stats["bytes_sent_uncompressed_total"] as? Int) ?? 0
            #expect(sent < uncompressed, "the zstd connection got compressed frames: \(stats)")
        }
    }

    @Test func publishHelpers() async throws {
        try await withBroker { broker in
            let client = SwitchboardClient(url: broker.url, configuration: quietConfiguration())
            let topic = topicName("publish")
            let first = try await client.publish(topic, text: "once", idempotencyKey: "k-1")
            let again = try await client.publish(topic, text: "once", idempotencyKey: "k-1")
            #expect(first.seq == 1 && !first.duplicate)
            #expect(again.seq == 1 && again.duplicate && again.epoch == first.epoch)
            let batch = try await client.publishBatch([
                try .json(topic, ["a": 1]), .bytes(topic, Data([1, 2]), contentType: "application/x-thing"), .json(topic, text: "[true]"),
            ])
            #expect(batch.map(\.seq) == [2, 3, 4])
            do {
                try await client.publishBatch([.bytes(topic, Data()), .bytes("bad..topic", Data())])
                Issue.record("a batch with a bad topic was accepted")
            } catch SwitchboardError.broker(let code, _, let status, let index) {
                #expect(code == "invalid_topic" && status == 400 && index == 1)
            }
            let replay = Collector.start(client.subscribe(topic, since: 0))
            let items = try await replay.wait(for: 4)
            #expect(seqs(items) == [1, 2, 3, 4])  // all or nothing: the refused batch left no event
            await client.close()
        }
    }

    @Test func gracefulClose() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let states = Collector2<SwitchboardClient.ConnectionState>.start(client.states)
            let received = Collector.start(client.subscribe(topicName("close")))
            try await waitFor(.connected, client)
            try await eventually("one connection") { try await broker.wsConnections().count == 1 }
            await client.close()
            #expect(try await received.waitForEnd() == .finished)
            #expect(client.state == .closed && client.error == nil)
            try await eventually("states end") { states.finished }
            #expect(states.values == [.disconnected, .connecting, .connected, .closed])
            try await eventually("the broker saw the close") { try await broker.wsConnections().isEmpty }
            let late = Collector.start(client.subscribe("late"))
            #expect(try await late.waitForEnd() == .failed(.clientClosed))
            await client.close()  // twice is fine
        }
    }
}
