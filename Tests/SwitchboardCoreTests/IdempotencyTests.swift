import NIOCore
import Testing
@testable import SwitchboardCore

/// An idempotency key names one event: the same event again is a duplicate, a different one is refused.
@Suite struct IdempotencyTests {
    func request(_ payload: String, type: String = "text/plain", key: String? = "k1") -> PublishRequest {
        PublishRequest(topic: "t", payload: ByteBuffer(string: payload), contentType: type, idempotencyKey: key)
    }

    @Test func theSameEventAgainIsADuplicate() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        let first = try engine.publish(request("a"))
        let again = try engine.publish(request("a"))
        #expect(again.duplicate && again.seq == first.seq && again.ts == first.ts)
        #expect(engine.topicInfo("t")?.seq == 1)
    }

    @Test func aDifferentPayloadOrTypeUnderTheSameKeyIsRefusedAndPublishesNothing() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(scheduler: passes)
        _ = try engine.publish(request("a"))
        for other in [request("b"), request("a", type: "application/json")] {
            #expect(throws: EngineError.idempotencyKeyReused("k1")) { try engine.publish(other) }
        }
        #expect(engine.topicInfo("t")?.seq == 1)
        #expect(engine.stats.eventsPublished.load(ordering: .relaxed) == 1)
        // Another key, or none, publishes as usual.
        #expect(try engine.publish(request("b", key: "k2")).seq == 2)
        #expect(try engine.publish(request("b", key: nil)).seq == 3)
    }

    @Test func aKeyWhoseEventLeftTheBufferIsFreeAgain() throws {
        let passes = ManualFanOutScheduler()
        let engine = try InMemoryTopicEngine(configuration: EngineConfiguration(ringLimits: RingLimits(capacity: 1)), scheduler: passes)
        _ = try engine.publish(request("a"))
        _ = try engine.publish(request("x", key: nil))
        let reused = try engine.publish(request("b"))
        #expect(!reused.duplicate && reused.seq == 3)
    }
}
