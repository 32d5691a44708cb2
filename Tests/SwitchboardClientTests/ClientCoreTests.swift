import Logging
import NIOCore
import SwitchboardCore
import Testing

@testable import SwitchboardClient

/// The client's message handling, fed the broker's messages and frames directly (no sockets).
@Suite struct ClientCoreTests {
    /// A core with one connection attached, the ops it sent, and its generation.
    func connectedCore(topics: [String]) throws -> (ClientCore, [SwitchboardClient.Subscription], AsyncStream<Outgoing>, Int) {
        let core = ClientCore(machine: ConnectionMachine(backoff: Backoff(minimum: .zero, maximum: .zero)), logger: Logger(label: "test"))
        let subscriptions = topics.map { SwitchboardClient.Subscription(topic: $0, since: nil, epoch: nil, core: core) }
        for subscription in subscriptions { core.add(subscription, resume: ResumeState(topic: subscription.topic)) }
        let attempt = try #require(core.update { $0.machine.startAttempt() })
        let (ops, sender) = AsyncStream.makeStream(of: Outgoing.self)
        let generation = try #require(core.attach(sender, attempt: attempt))
        return (core, subscriptions, ops, generation)
    }

    func frame(_ topic: String, _ seqs: ClosedRange<UInt64>, payload: String = "x") -> ByteBuffer {
        EventFrame.encode(topic: topic, events: seqs.map { Event(seq: $0, ts: 1, payload: ByteBuffer(string: payload), contentType: "") })
    }

    func drain(_ subscription: SwitchboardClient.Subscription) async throws -> [SwitchboardClient.Item] {
        var items: [SwitchboardClient.Item] = []
        for try await item in subscription { items.append(item) }
        return items
    }

    @Test func framesGapsAndDeletionReachTheSubscriptionInOrder() async throws {
        let (core, subscriptions, ops, generation) = try connectedCore(topics: ["a"])
        var sent = ops.makeAsyncIterator()
        guard case .text(let op)? = await sent.next() else { Issue.record("no subscribe op"); return }
        #expect(op == #"{"op":"subscribe","topic":"a","id":1}"#)
        core.received(text: #"{"type":"subscribed","topic":"a","epoch":"e","seq":5,"reset":false,"id":1}"#, generation: generation)
        #expect(core.received(binary: frame("a", 4...7), generation: generation))  // 4 and 5 came before: dropped
        #expect(core.received(binary: frame("a", 8...8), generation: generation - 1))  // an old connection's: ignored
        #expect(core.received(binary: frame("other", 1...1), generation: generation))  // not subscribed: ignored
        core.received(text: #"{"type":"gap","topic":"a","from":8,"to":10}"#, generation: generation)
        let big = String(repeating: "zstd ", count: 100)
        let compressed = try #require(try EventFrame.compress(frame("a", 11...11, payload: big), with: ZstdCompressor()))
        #expect(core.received(binary: compressed, generation: generation))
        core.received(text: #"{"type":"deleted","topic":"a"}"#, generation: generation)
        let items = try await drain(subscriptions[0])
        #expect(seqs(items) == [6, 7, 11])
        #expect(items[2] == .gap(.init(topic: "a", from: 8, to: 10)))
        if case .event(let event) = items[3] { #expect(event.text == big) } else { Issue.record("no zstd event: \(items)") }
        #expect(items.last == .deleted(topic: "a"))
    }

    /// `engine_unavailable` (contract v1.1: the broker's Redis is away) is not the end of the
    /// subscription: the client asks again a moment later on the same connection.
    @Test func engineUnavailableIsRetried() async throws {
        let (core, subscriptions, ops, generation) = try connectedCore(topics: ["a"])
        var sent = ops.makeAsyncIterator()
        _ = await sent.next()
        core.received(text: #"{"type":"error","code":"engine_unavailable","message":"redis","id":1}"#, generation: generation)
        guard case .text(let again)? = await sent.next() else { Issue.record("no second subscribe"); return }
        #expect(again == #"{"op":"subscribe","topic":"a","id":2}"#)
        core.received(text: #"{"type":"subscribed","topic":"a","epoch":"e","seq":0,"reset":false,"id":2}"#, generation: generation)
        #expect(core.received(binary: frame("a", 1...1), generation: generation))
        core.update { $0.machine.close() }
        core.finishAll(nil)
        #expect(seqs(try await drain(subscriptions[0])) == [1])
    }

    /// After an undecodable frame nothing more of that connection is delivered: the events of the
    /// bad frame come again after the reconnection, so a later frame must not skip past them.
    @Test func anUndecodableFrameDistrustsTheRestOfItsConnection() async throws {
        let (core, subscriptions, _, generation) = try connectedCore(topics: ["a"])
        core.received(text: #"{"type":"subscribed","topic":"a","epoch":"e","seq":0,"reset":false,"id":1}"#, generation: generation)
        #expect(core.received(binary: frame("a", 1...1), generation: generation))
        #expect(!core.received(binary: ByteBuffer(bytes: [0x01, 0xde, 0xad]), generation: generation))  // 2 was in it
        #expect(core.received(binary: frame("a", 3...3), generation: generation))
        core.received(text: #"{"type":"gap","topic":"a","from":4,"to":4}"#, generation: generation)
        core.detach(generation)
        core.update { $0.machine.close() }
        core.finishAll(nil)
        let items = try await drain(subscriptions[0])
        #expect(items.count == 1 && seqs(items) == [1])
        #expect(subscriptions[0].position == .init(epoch: "e", seq: 1))
    }

    @Test func aRefusedSubscriptionThrowsAndAResetUnderItRestarts() async throws {
        let (core, subscriptions, _, generation) = try connectedCore(topics: ["a", "b"])
        core.received(text: #"{"type":"error","code":"forbidden","message":"no","id":1}"#, generation: generation)
        await #expect(throws: SwitchboardError.broker(code: "forbidden", message: "no", status: nil, index: nil)) {
            try await drain(subscriptions[0])
        }
        core.received(text: #"{"type":"subscribed","topic":"b","epoch":"e1","seq":2,"reset":false,"id":2}"#, generation: generation)
        core.received(text: #"{"type":"reset","topic":"b","epoch":"e2"}"#, generation: generation)
        #expect(core.received(binary: frame("b", 1...1), generation: generation))
        core.detach(generation)
        #expect(subscriptions[1].position == .init(epoch: nil, seq: nil))  // nothing handed out yet
        core.update { $0.machine.close() }
        core.finishAll(nil)
        let items = try await drain(subscriptions[1])
        #expect(items == [.reset(.init(topic: "b", epoch: "e2")), items[1]])
        #expect(seqs(items) == [1])
        #expect(subscriptions[1].position == .init(epoch: "e2", seq: 1))
    }
}
