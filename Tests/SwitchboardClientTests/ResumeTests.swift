import Foundation
import SwitchboardClient
import SwitchboardServer
import Synchronization
import Testing

/// Reconnection and resume against a real broker, through a proxy that cuts connections.
@Suite struct ResumeTests {
    /// Runs `body` with a broker (admin token set) and a proxy in front of it.
    func withProxiedBroker(
        _ configuration: BrokerConfiguration = brokerWithAdmin(),
        _ body: @escaping @Sendable (RunningBroker, CuttingProxy) async throws -> Void
    ) async throws {
        try await withBroker(configuration) { broker in
            let proxy = CuttingProxy(target: broker.port)
            try await proxy.start()
            do {
                try await body(broker, proxy)
            } catch {
                await proxy.close()
                throw error
            }
            await proxy.close()
        }
    }

    /// An application that counts events sees every one exactly once, in order, across 20
    /// connections cut while events stream: half with a TCP reset, half with a plain close of
    /// both sockets, never with a close frame.
    @Test func twentyForcedDisconnectsLoseNothing() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("churn")
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: fastConfiguration())
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let connects = Collector2<SwitchboardClient.ConnectionState>.start(client.states)
            let subscription = client.subscribe(topic)
            let received = Collector.start(subscription)
            try await eventually("subscribed") { subscription.position.seq != nil }
            let cutting = Counter()
            let cutter = Task {
                defer { _ = cutting.increment() }
                for cut in 0..<20 {
                    try await waitFor(.connected, client)
                    try await Task.sleep(for: .milliseconds(60))
                    #expect(await proxy.cut(reset: cut % 2 == 0) >= 1)
                    try await eventually("disconnected after cut \(cut)") { client.state != .connected }
                }
            }
            var published = 0
            while cutting.count == 0 || published < 200 {
                try await publisher.publishBatch((published + 1...published + 5).map { .bytes(topic, Data("\($0)".utf8)) })
                published += 5
                try await Task.sleep(for: .milliseconds(10))
            }
            try await cutter.value
            try await waitFor(.connected, client)
            try await publisher.publish(topic, text: "\(published + 1)")
            published += 1
            let items = try await received.wait(for: published, timeout: .seconds(20))
            #expect(items.count == published, "nothing more than the events: no gap, no reset")
            #expect(seqs(items) == Array(1...UInt64(published)))
            let payloads = items.compactMap { if case .event(let event) = $0 { Int(event.text ?? "") } else { nil } }
            #expect(payloads == Array(1...published))
            #expect(connects.values.filter { $0 == .connected }.count >= 21)
            #expect(subscription.position.seq == UInt64(published))
            await client.close()
            await publisher.close()
        }
    }

    @Test func gapWhenEventsWereEvictedWhileDisconnected() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("gap")
            #expect(try await broker.admin(.put, "/v1/admin/topics/\(topic)/config", body: #"{"capacity":5}"#).status == 200)
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: fastConfiguration())
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let received = Collector.start(client.subscribe(topic))
            try await waitFor(.connected, client)
            try await eventually("subscribed") { try await broker.wsConnections().first?.subscriptions == [topic] }
            try await publisher.publishBatch((1...3).map { _ in .bytes(topic, Data("a".utf8)) })
            #expect(seqs(try await received.wait(for: 3)) == [1, 2, 3])
            proxy.setRefusing(true)
            await proxy.cut(reset: true)
            try await eventually("disconnected") { client.state != .connected }
            try await publisher.publishBatch((4...23).map { _ in .bytes(topic, Data("b".utf8)) })  // the ring keeps 19...23
            proxy.setRefusing(false)
            let items = try await received.wait(for: 9)
            #expect(items[3] == .gap(.init(topic: topic, from: 4, to: 18)))
            #expect(seqs(items) == [1, 2, 3, 19, 20, 21, 22, 23])
            await client.close()
            await publisher.close()
        }
    }

    @Test func resetAfterTheTopicWasDeletedWhileDisconnected() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("reset")
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: fastConfiguration())
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let first = try await publisher.publishBatch((1...3).map { _ in .bytes(topic, Data("old".utf8)) })
            let subscription = client.subscribe(topic, since: 0, epoch: first[0].epoch)
            let received = Collector.start(subscription)
            #expect(seqs(try await received.wait(for: 3)) == [1, 2, 3])
            proxy.setRefusing(true)
            await proxy.cut(reset: false)
            try await eventually("disconnected") { client.state != .connected }
            #expect(try await broker.admin(.delete, "/v1/admin/topics/\(topic)").status == 204)
            let second = try await publisher.publishBatch((1...2).map { _ in .bytes(topic, Data("new".utf8)) })
            #expect(second[0].epoch != first[0].epoch)
            proxy.setRefusing(false)
            let items = try await received.wait(for: 6)
            #expect(items[3] == .reset(.init(topic: topic, epoch: second[0].epoch)))
            #expect(seqs(Array(items[4...])) == [1, 2])
            #expect(subscription.position == .init(epoch: second[0].epoch, seq: 2))
            await client.close()
            await publisher.close()
        }
    }

    @Test func deletedWhileConnectedEndsTheSubscriptionAndAStaleEpochResets() async throws {
        try await withBroker(brokerWithAdmin()) { broker in
            let topic = topicName("deleted")
            let client = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let old = try await client.publish(topic, text: "1")
            let subscription = client.subscribe(topic, since: 0, epoch: old.epoch)
            let received = Collector.start(subscription)
            try await received.wait(for: 1)
            #expect(try await broker.admin(.delete, "/v1/admin/topics/\(topic)").status == 204)
            #expect(try await received.waitForEnd() == .finished)
            #expect(received.items.last == .deleted(topic: topic))
            // Coming back with the old position: a reset, then the new epoch from its start.
            let new = try await client.publish(topic, text: "again")
            let again = Collector.start(client.subscribe(topic, since: 1, epoch: old.epoch))
            let items = try await again.wait(for: 2)
            #expect(items == [.reset(.init(topic: topic, epoch: new.epoch)), items[1]])
            #expect(seqs(items) == [1])
            await client.close()
        }
    }

    @Test func aSilentConnectionIsDetectedAndResumed() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("silent")
            var configuration = fastConfiguration()
            configuration.pingTimeout = .milliseconds(600)
            configuration.closeTimeout = .milliseconds(300)
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: configuration)
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let connects = Collector2<SwitchboardClient.ConnectionState>.start(client.states)
            let received = Collector.start(client.subscribe(topic))
            try await waitFor(.connected, client)
            try await eventually("subscribed") { try await broker.wsConnections().first?.subscriptions == [topic] }
            proxy.setFrozen(true)  // bytes vanish: neither side sees a close
            try await publisher.publish(topic, text: "during")
            try await eventually("the dead connection dropped", timeout: .seconds(5)) { client.state != .connected }
            proxy.setFrozen(false)
            await proxy.cut(reset: true)  // what was left of it
            let items = try await received.wait(for: 1, timeout: .seconds(10))
            #expect(seqs(items) == [1])
            #expect(connects.values.filter { $0 == .connected }.count >= 2)
            await client.close()
            await publisher.close()
        }
    }

    /// An upgrade that is never answered (the connection opens, then nothing) is given up on after
    /// the open timeout and tried again; closing while connecting returns at once.
    @Test func anUnansweredUpgradeTimesOutAndIsRetried() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("open")
            var configuration = fastConfiguration()
            configuration.openTimeout = .milliseconds(300)
            proxy.setFrozen(true)
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: configuration)
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let states = Collector2<SwitchboardClient.ConnectionState>.start(client.states)
            let received = Collector.start(client.subscribe(topic, since: 0))
            try await eventually("two attempts given up on") { states.values.filter { $0 == .connecting }.count >= 3 }
            #expect(!states.values.contains(.connected))
            try await publisher.publish(topic, text: "1")
            proxy.setFrozen(false)
            #expect(seqs(try await received.wait(for: 1)) == [1])

            let stuck = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: quietConfiguration())
            proxy.setFrozen(true)
            let never = Collector.start(stuck.subscribe(topic))
            try await waitFor(.connecting, stuck)
            let started = ContinuousClock.now
            await stuck.close()
            #expect(ContinuousClock.now - started < .seconds(2), "close while connecting does not wait for the open timeout")
            #expect(try await never.waitForEnd() == .finished)
            proxy.setFrozen(false)
            await client.close()
            await publisher.close()
        }
    }

    @Test func subscribingWhileTheBrokerIsUnreachableConnectsWhenItIsBack() async throws {
        try await withProxiedBroker { broker, proxy in
            let topic = topicName("unreachable")
            proxy.setRefusing(true)
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: fastConfiguration())
            let publisher = SwitchboardClient(url: broker.url, token: adminToken, configuration: quietConfiguration())
            let states = Collector2<SwitchboardClient.ConnectionState>.start(client.states)
            let received = Collector.start(client.subscribe(topic, last: 10))
            try await eventually("a few attempts") { states.values.filter { $0 == .connecting }.count >= 3 }
            #expect(client.state != .connected && client.error == nil)
            try await publisher.publish(topic, text: "while away")
            proxy.setRefusing(false)
            #expect(seqs(try await received.wait(for: 1)) == [1])
            #expect(client.state == .connected)
            await client.close()
            await publisher.close()
        }
    }

    /// The broker the client talked to shuts down (close 1001) and another answers at the same
    /// address, as after a failover with the memory engine: the topic's epoch changed, so the
    /// subscription gets a reset, then the new broker's events from the start.
    @Test func anotherBrokerAtTheSameAddressIsAReset() async throws {
        try await withProxiedBroker { first, proxy in
            let topic = topicName("failover")
            let client = SwitchboardClient(url: URL(string: proxy.url)!, token: adminToken, configuration: fastConfiguration())
            let old = SwitchboardClient(url: first.url, token: adminToken, configuration: quietConfiguration())
            try await old.publishBatch((1...3).map { _ in .bytes(topic, Data("old".utf8)) })
            let received = Collector.start(client.subscribe(topic, since: 0))
            #expect(seqs(try await received.wait(for: 3)) == [1, 2, 3])
            try await withBroker(brokerWithAdmin()) { second in
                let new = SwitchboardClient(url: second.url, token: adminToken, configuration: quietConfiguration())
                let receipts = try await new.publishBatch((1...2).map { _ in .bytes(topic, Data("new".utf8)) })
                proxy.retarget(second.port)
                await first.shutDown()
                let items = try await received.wait(for: 6)
                #expect(items[3] == .reset(.init(topic: topic, epoch: receipts[0].epoch)))
                #expect(seqs(Array(items[4...])) == [1, 2])
                #expect(client.state == .connected)
                await new.close()
            }
            await client.close()
            await old.close()
        }
    }
}
