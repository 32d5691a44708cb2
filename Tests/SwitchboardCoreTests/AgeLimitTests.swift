import NIOCore
import Testing
@testable import SwitchboardCore

/// The age limit applies to every read at the moment of reading, not only when the sweep runs.
@Suite struct AgeLimitTests {
    func engine(_ clock: ManualClock, ttl: Int = 1, passes: ManualFanOutScheduler = ManualFanOutScheduler()) throws -> InMemoryTopicEngine {
        try InMemoryTopicEngine(configuration: EngineConfiguration(ringLimits: RingLimits(ttlSeconds: ttl)), now: clock.now, scheduler: passes)
    }

    func publish(_ engine: InMemoryTopicEngine, _ count: Int) throws {
        for i in 0..<count { _ = try engine.publish(PublishRequest(topic: "t", payload: ByteBuffer(string: "e\(i)"))) }
    }

    @Test func historyAndPollReadsSkipExpiredEventsAndReportThemAsAGap() throws {
        let clock = ManualClock()
        let engine = try engine(clock)
        try publish(engine, 3)
        #expect(try engine.read(topic: "t", from: .since(0, epoch: nil), limit: 10, create: false)?.events.count == 3)
        clock.advance(seconds: 2)
        let read = try #require(try engine.read(topic: "t", from: .since(0, epoch: nil), limit: 10, create: false))
        // The newest stays, whatever its age (contract); the two before it are gone.
        #expect(read.events.map(\.seq) == [3])
        #expect(read.gap == Gap(topic: "t", from: 1, to: 2))
        #expect(try engine.read(topic: "t", from: .last(10), limit: 10, create: false)?.events.map(\.seq) == [3])
    }

    @Test func anOperatorsAgeLimitAppliesToTheNextRead() throws {
        let clock = ManualClock()
        let engine = try engine(clock, ttl: 0)
        try publish(engine, 3)
        try engine.setLimits(RingLimits(ttlSeconds: 1), for: "t")
        clock.advance(seconds: 2)
        #expect(try engine.read(topic: "t", from: .since(0, epoch: nil), limit: 10, create: false)?.events.map(\.seq) == [3])
    }

    @Test func aWebSocketReplaySkipsExpiredEvents() async throws {
        let clock = ManualClock()
        let passes = ManualFanOutScheduler()
        let engine = try engine(clock, passes: passes)
        try publish(engine, 3)
        clock.advance(seconds: 2)
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        _ = try engine.subscribe(subscriber, topic: "t", from: .since(0, epoch: nil), id: nil)
        let seen = try await Drained(subscriber, passes: passes)
        #expect(seen.seqs == [3])
        #expect(seen.controls.contains(.gap(Gap(topic: "t", from: 1, to: 2))))
    }

    @Test func eventsWithinTheAgeLimitAreAllServed() throws {
        let clock = ManualClock()
        let engine = try engine(clock, ttl: 5)
        try publish(engine, 3)
        clock.advance(seconds: 2)
        #expect(try engine.read(topic: "t", from: .since(0, epoch: nil), limit: 10, create: false)?.events.map(\.seq) == [1, 2, 3])
    }
}
