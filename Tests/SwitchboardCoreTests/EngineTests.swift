import NIOCore
import Synchronization
import Testing
@testable import SwitchboardCore

/// A clock tests move by hand.
final class ManualClock: Sendable {
    let micros = Atomic<Int64>(1_000_000_000)
    func advance(seconds: Int64) { micros.add(seconds * 1_000_000, ordering: .relaxed) }
    var now: @Sendable () -> Int64 { { [self] in self.micros.load(ordering: .relaxed) } }
}

/// Reads a subscriber's queue as a client would see it.
struct Drained {
    var controls: [ControlMessage] = []
    var seqs: [UInt64] = []
    var log: [String] = []

    init(_ subscriber: Subscriber, topic: String = "t", passes: ManualFanOutScheduler) async throws {
        // Every pass scheduled so far runs now; what it queued is what the client reads.
        passes.runAll()
        do {
            let items = subscriber.withQueue { $0.popAll() }
            for item in items {
                switch item {
                case .control(let message, _):
                    controls.append(message)
                    log.append(message.json)
                case .events(let frame):
                    let decoded = try EventFrame.decode(frame.bytes(zstd: subscriber.zstd), decompressor: ZstdDecompressor())
                    seqs += decoded.events.map(\.seq)
                    log.append("\(frame.firstSeq)-\(frame.lastSeq)")
                case .close(let code, _):
                    log.append("close \(code)")
                }
            }
        }
    }
}

@Suite struct EngineTests {
    func publish(_ engine: InMemoryTopicEngine, _ topic: String, _ count: Int, key: String? = nil) throws -> [PublishReceipt] {
        try (0..<count).map { i in try engine.publish(PublishRequest(topic: topic, payload: ByteBuffer(string: "e\(i)"), idempotencyKey: key)) }
    }

    @Test func subscribersGetEveryEventOnceInOrder() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let subscribers = (0..<5).map { _ in Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop) }
        for s in subscribers { _ = try engine.subscribe(s, topic: "t", from: .live, id: nil) }
        _ = try publish(engine, "t", 500)
        for s in subscribers {
            let seen = try await Drained(s, passes: passes)
            #expect(seen.seqs == Array(1...500))
            #expect(seen.controls.first == .subscribed(topic: "t", epoch: engine.topicInfo("t")!.epoch, seq: 0, reset: false, id: nil))
        }
    }

    @Test func replayWithSinceAndLast() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        _ = try publish(engine, "t", 10)
        passes.runAll()
        let since = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        let receipt = try engine.subscribe(since, topic: "t", from: .since(7, epoch: nil), id: .number("3"))
        #expect(receipt.seq == 10 && !receipt.reset)
        let last = Subscriber(zstd: true, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(last, topic: "t", from: .last(4), id: nil)
        _ = try publish(engine, "t", 2)
        #expect(try await Drained(since, passes: passes).seqs == [8, 9, 10, 11, 12])
        #expect(try await Drained(last, passes: passes).seqs == [7, 8, 9, 10, 11, 12])
    }

    @Test func evictedReplayIsReportedAsAnExactGap() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(ringLimits: RingLimits(capacity: 5)), scheduler: passes)
        _ = try publish(engine, "t", 20)
        passes.runAll()
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "t", from: .since(3, epoch: nil), id: nil)
        let seen = try await Drained(subscriber, passes: passes)
        #expect(seen.controls.contains(.gap(Gap(topic: "t", from: 4, to: 15))))
        #expect(seen.seqs == [16, 17, 18, 19, 20])
    }

    @Test func staleEpochResetsToTheCurrentBuffer() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        _ = try publish(engine, "t", 3)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        let receipt = try engine.subscribe(subscriber, topic: "t", from: .since(100, epoch: "gone"), id: nil)
        #expect(receipt.reset)
        #expect(try await Drained(subscriber, passes: passes).seqs == [1, 2, 3])
    }

    @Test func idempotentPublishesAnswerTheFirstEvent() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let first = try publish(engine, "t", 1, key: "order-1")[0]
        let again = try publish(engine, "t", 1, key: "order-1")[0]
        #expect(again.duplicate && again.seq == first.seq && again.ts == first.ts)
        #expect(engine.topicInfo("t")?.seq == 1)
        #expect(throws: EngineError.self) { try publish(engine, "t", 1, key: "bad key") }
    }

    @Test func batchesAreAllOrNothing() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(maxPayloadBytes: 4), scheduler: passes)
        let good = PublishRequest(topic: "a", payload: ByteBuffer(string: "ok"))
        let big = PublishRequest(topic: "b", payload: ByteBuffer(string: "too big"))
        #expect(throws: BatchError(index: 1, error: EngineError(.payloadTooLarge, message: "The payload is 7 bytes; the limit is 4."))) {
            try engine.publish(batch: [good, big])
        }
        #expect(engine.topicInfo("a") == nil)
        let receipts = try engine.publish(batch: [good, good, PublishRequest(topic: "b", payload: ByteBuffer())])
        #expect(receipts.map(\.seq) == [1, 2, 1])
    }

    @Test func topicLimitIsEnforced() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(maxTopics: 2), scheduler: passes)
        _ = try publish(engine, "a", 1)
        _ = try publish(engine, "b", 1)
        #expect(throws: EngineError.self) { try publish(engine, "c", 1) }
        #expect(throws: BatchError.self) { try engine.publish(batch: [PublishRequest(topic: "a", payload: ByteBuffer()), PublishRequest(topic: "d", payload: ByteBuffer())]) }
        #expect(engine.topicInfo("a")?.seq == 1)
    }

    @Test func idleTopicsAreDroppedAndStartANewEpoch() throws {
        let clock = ManualClock()
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(idleTopicSeconds: 60), now: clock.now, scheduler: passes)
        _ = try publish(engine, "quiet", 1)
        let watched = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(watched, topic: "watched", from: .live, id: nil)
        let epoch = engine.topicInfo("quiet")!.epoch
        clock.advance(seconds: 30)
        #expect(engine.sweep().isEmpty)
        clock.advance(seconds: 31)
        #expect(engine.sweep() == ["quiet"])
        let after = try publish(engine, "quiet", 1)[0]
        #expect(after.seq == 1 && after.epoch != epoch)
        #expect(engine.topicInfo("watched") != nil)
    }

    @Test func deletedTopicsTellTheirSubscribers() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "t", from: .live, id: nil)
        #expect(engine.deleteTopic("t"))
        #expect(try await Drained(subscriber, passes: passes).controls.last == .deleted(topic: "t"))
        #expect(subscriber.topics.isEmpty)
    }

    @Test func unsubscribeStopsDeliveryAndDoubleSubscribeIsRefused() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop, maxSubscriptions: 1)
        _ = try engine.subscribe(subscriber, topic: "t", from: .live, id: nil)
        #expect(throws: EngineError.self) { try engine.subscribe(subscriber, topic: "t", from: .live, id: nil) }
        #expect(throws: EngineError.self) { try engine.subscribe(subscriber, topic: "u", from: .live, id: nil) }
        _ = try publish(engine, "t", 2)
        passes.runAll()
        try engine.unsubscribe(subscriber, topic: "t", id: nil)
        _ = try publish(engine, "t", 2)
        let seen = try await Drained(subscriber, passes: passes)
        #expect(seen.seqs == [1, 2])
        #expect(seen.controls.last == .unsubscribed(topic: "t", id: nil))
        #expect(throws: EngineError.self) { try engine.unsubscribe(subscriber, topic: "t", id: nil) }
    }

    @Test func aBurstLargerThanTheRingIsReportedNotLost() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(ringLimits: RingLimits(capacity: 8)), scheduler: passes)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 24, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "t", from: .live, id: nil)
        _ = try publish(engine, "t", 2000)
        let seen = try await Drained(subscriber, passes: passes)
        var covered = Set(seen.seqs)
        #expect(covered.count == seen.seqs.count, "no duplicates")
        for case .gap(let gap) in seen.controls { covered.formUnion(gap.from...gap.to) }
        #expect(covered == Set(1...2000), "every seq is either delivered or named by a gap")
        #expect(seen.seqs.last == 2000)
    }
}
