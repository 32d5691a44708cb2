import NIOCore
import Testing
@testable import SwitchboardCore

@Suite struct AdminEngineTests {
    @Test func publishRateCountsTheLastMinuteOnly() {
        var rate = PublishRate()
        let start: Int64 = 1_000_000_000_000
        #expect(rate.events(inMinuteUpTo: start) == 0)
        for second in 0..<30 { rate.record(at: start + Int64(second) * 1_000_000, events: 2) }
        #expect(rate.events(inMinuteUpTo: start + 29_000_000) == 60)
        #expect(rate.perSecond(now: start + 29_000_000) == 1.0)
        // 45 s later, the first 16 seconds (32 events) have left the window.
        #expect(rate.events(inMinuteUpTo: start + 75_000_000) == 28)
        // A new event after a long pause clears every old bucket.
        rate.record(at: start + 500_000_000)
        #expect(rate.events(inMinuteUpTo: start + 500_000_000) == 1)
        #expect(rate.events(inMinuteUpTo: start + 600_000_000) == 0)
    }

    @Test func publishRateHistoryListsWholeSecondsOldestFirst() {
        var rate = PublishRate()
        let start: Int64 = 2_000_000_000_000
        rate.record(at: start, events: 3)
        rate.record(at: start + 2_500_000, events: 5)
        rate.record(at: start + 3_100_000)
        #expect(rate.history(seconds: 3, now: start + 3_200_000) == [3, 0, 5])
        #expect(rate.history(seconds: 3, now: start + 4_000_000) == [0, 5, 1])
        #expect(rate.history(seconds: 2, now: start + 200_000_000) == [0, 0])
        #expect(PublishRate().history(seconds: 3, now: start) == [0, 0, 0])
    }

    @Test func theEngineReportsTopicRates() throws {
        let clock = ManualClock()
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(now: clock.now, scheduler: passes)
        for _ in 0..<6 {
            _ = try engine.publish(PublishRequest(topic: "r", payload: ByteBuffer(string: "x")))
            clock.advance(seconds: 1)
        }
        #expect(engine.topicInfo("r")?.publishRate == 0.1)
        #expect(engine.topicInfos(prefix: "r").first?.publishRate == 0.1)
        clock.advance(seconds: 120)
        #expect(engine.topicInfo("r")?.publishRate == 0)
    }

    @Test func shrinkingEvictsAtOnceAndReplaysReportTheExactGap() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        for i in 1...20 { _ = try engine.publish(PublishRequest(topic: "s", payload: ByteBuffer(string: "\(i)"))) }
        passes.runAll()
        let info = try engine.setLimits(RingLimits(capacity: 4, maxBytes: 1 << 20, ttlSeconds: 30), for: "s")
        #expect(info.bufferedEvents == 4 && info.oldestSeq == 17 && info.seq == 20)
        #expect(info.limits == RingLimits(capacity: 4, maxBytes: 1 << 20, ttlSeconds: 30))
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "s", from: .since(5, epoch: nil), id: nil)
        let seen = try await Drained(subscriber, passes: passes)
        #expect(seen.controls.contains(.gap(Gap(topic: "s", from: 6, to: 16))))
        #expect(seen.seqs == [17, 18, 19, 20])
    }

    @Test func shrinkingBeforeAPassTellsLiveSubscribersOfTheLoss() async throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "l", from: .live, id: nil)
        for i in 1...10 { _ = try engine.publish(PublishRequest(topic: "l", payload: ByteBuffer(string: "\(i)"))) }
        try engine.setLimits(RingLimits(capacity: 2), for: "l")
        let seen = try await Drained(subscriber, topic: "l", passes: passes)
        // Whatever a pass took before the shrink arrives; the rest is either delivered or named by a gap.
        let gaps = seen.controls.compactMap { if case .gap(let gap) = $0 { gap } else { nil } }
        let covered = Set(seen.seqs).union(gaps.flatMap { Array($0.from...$0.to) })
        #expect(covered == Set(1...10))
        #expect(seen.seqs.suffix(2) == [9, 10])
    }

    @Test func setLimitsCreatesTheTopicAndTotalsBufferedBytes() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let info = try engine.setLimits(RingLimits(capacity: 7), for: "new.topic")
        #expect(info.seq == 0 && info.bufferedEvents == 0 && info.limits.capacity == 7)
        #expect(engine.topicCount == 1)
        _ = try engine.publish(PublishRequest(topic: "a", payload: ByteBuffer(string: "12345")))
        _ = try engine.publish(PublishRequest(topic: "new.topic", payload: ByteBuffer(string: "123")))
        #expect(engine.bufferedBytes == 8)
        #expect(throws: EngineError.self) { try engine.setLimits(RingLimits(), for: "bad..name") }
    }
}
