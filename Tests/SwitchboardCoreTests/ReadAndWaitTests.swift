import NIOCore
import Synchronization
import SwitchboardCore
import Testing

/// The engine's side of long-poll, SSE and history: reads that never wait, and one-shot waiters.
struct ReadAndWaitTests {
    func engine(capacity: Int = 1024) throws -> InMemoryTopicEngine {
        try InMemoryTopicEngine(configuration: EngineConfiguration(ringLimits: RingLimits(capacity: capacity)))
    }

    func publish(_ engine: InMemoryTopicEngine, _ topic: String, count: Int) throws {
        for n in 1...count {
            _ = try engine.publish(PublishRequest(topic: topic, payload: ByteBuffer(string: "\(n)")))
        }
    }

    @Test func readsFollowTheReplayArithmetic() throws {
        let engine = try engine(capacity: 4)
        #expect(try engine.read(topic: "r", from: .live, limit: 10, create: false) == nil, "an unknown topic is not created by history")
        try publish(engine, "r", count: 6)
        let epoch = try #require(engine.topicInfo("r")?.epoch)

        let live = try #require(try engine.read(topic: "r", from: .live, limit: 10, create: false))
        #expect(live.events.isEmpty && live.after == 6 && live.gap == nil && !live.reset)

        let fromStart = try #require(try engine.read(topic: "r", from: .since(0, epoch: epoch), limit: 10, create: false))
        #expect(fromStart.gap == Gap(topic: "r", from: 1, to: 2))
        #expect(fromStart.after == 2)
        #expect(fromStart.events.map(\.seq) == [3, 4, 5, 6])

        let limited = try #require(try engine.read(topic: "r", from: .since(3, epoch: epoch), limit: 2, create: false))
        #expect(limited.events.map(\.seq) == [4, 5] && limited.gap == nil && limited.after == 3)

        let stale = try #require(try engine.read(topic: "r", from: .since(5, epoch: "old"), limit: 10, create: false))
        #expect(stale.reset && stale.epoch == epoch && stale.events.map(\.seq) == [3, 4, 5, 6])

        let last = try #require(try engine.read(topic: "r", from: .last(2), limit: 10, create: false))
        #expect(last.events.map(\.seq) == [5, 6])

        let beyond = try #require(try engine.read(topic: "r", from: .since(99, epoch: nil), limit: 10, create: false))
        #expect(beyond.events.isEmpty && !beyond.reset, "history past the newest event is empty, not a reset")
        #expect(throws: EngineError.self) { try engine.read(topic: "a..b", from: .live, limit: 1, create: true) }
    }

    @Test func aPublishFiresEveryWaiterOnItsTopicOnce() async throws {
        let engine = try engine()
        _ = try engine.read(topic: "w", from: .live, limit: 1, create: true)
        let epoch = try #require(engine.topicInfo("w")?.epoch)
        let waiters = (0..<100).map { _ in TopicWaiter() }
        for waiter in waiters { #expect(engine.watch(waiter, topic: "w", epoch: epoch, after: 0)) }
        let other = TopicWaiter()
        _ = try engine.read(topic: "other", from: .live, limit: 1, create: true)
        #expect(engine.watch(other, topic: "other", epoch: try #require(engine.topicInfo("other")?.epoch), after: 0))

        try publish(engine, "w", count: 1)
        for waiter in waiters {
            let wake = await waiter.wait()
            #expect(!wake.closed && wake.deleted.isEmpty)
        }
        #expect(!other.isFired, "a waiter on another topic sleeps on")
        // Fired waiters were taken off: the next publish finds nobody to wake.
        try publish(engine, "w", count: 1)
        #expect(waiters.allSatisfy { !$0.isFired })
    }

    @Test func watchRefusesWhenTheTopicAlreadyMovedOrIsGone() throws {
        let engine = try engine()
        try publish(engine, "m", count: 3)
        let epoch = try #require(engine.topicInfo("m")?.epoch)
        let waiter = TopicWaiter()
        #expect(!engine.watch(waiter, topic: "m", epoch: epoch, after: 2), "an event past the position exists")
        #expect(!engine.watch(waiter, topic: "m", epoch: "stale", after: 3), "the epoch changed")
        #expect(!engine.watch(waiter, topic: "never", epoch: epoch, after: 0), "the topic does not exist")
        #expect(engine.watch(waiter, topic: "m", epoch: epoch, after: 3))
        engine.unwatch(waiter, topic: "m")
        try publish(engine, "m", count: 1)
        #expect(!waiter.isFired, "an unwatched waiter is not fired")
    }

    @Test func deletionWakesWaitersAndSaysWhichTopic() async throws {
        let engine = try engine()
        try publish(engine, "d", count: 1)
        let waiter = TopicWaiter()
        #expect(engine.watch(waiter, topic: "d", epoch: try #require(engine.topicInfo("d")?.epoch), after: 1))
        #expect(engine.deleteTopic("d"))
        let wake = await waiter.wait()
        #expect(wake.deleted == ["d"])
        #expect(!waiter.isFired, "the waiter can wait again")
    }

    @Test func aClosedWaiterStaysClosed() async {
        let waiter = TopicWaiter()
        waiter.fire(closed: true)
        #expect(await waiter.wait().closed)
        #expect(await waiter.wait().closed, "wait returns at once once closed")
    }

    @Test func aTopicWithWaitersIsNotIdle() throws {
        let clock = Mutex<Int64>(1_000_000_000)
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(idleTopicSeconds: 10)) { clock.withLock { $0 } }
        try publish(engine, "idle", count: 1)
        try publish(engine, "watched", count: 1)
        let waiter = TopicWaiter()
        #expect(engine.watch(waiter, topic: "watched", epoch: try #require(engine.topicInfo("watched")?.epoch), after: 1))
        clock.withLock { $0 += 60_000_000 }
        #expect(engine.sweep() == ["idle"])
    }
}
