import NIOCore
import Synchronization
import Testing
@testable import SwitchboardCore

/// Push mode: the subscriber calls its writer back once per drain, never twice at once,
/// and nothing queued is left behind between drains.
@Suite struct SubscriberDrainTests {
    /// Counts the writer's wake-ups.
    final class Calls: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func ready() { count.wrappingAdd(1, ordering: .relaxed) }
    }

    func messages(_ items: [OutboundItem]?) -> [String] {
        (items ?? []).compactMap { if case .control(let message, _) = $0 { message.json } else { nil } }
    }

    func error(_ n: Int) -> ControlMessage { .error(code: "e\(n)", message: "m", id: nil) }

    @Test func whatWasQueuedBeforeStartingIsDrainedAtOnce() {
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        subscriber.send(error(1))
        let calls = Calls()
        subscriber.startDraining { calls.ready() }
        #expect(calls.value == 1)
        #expect(messages(subscriber.takeForDrain()).count == 1)
        #expect(subscriber.endDrain() == false)
    }

    @Test func oneWakeUpPerDrainAndItemsQueuedMeanwhileAreNotLost() {
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        let calls = Calls()
        subscriber.startDraining { calls.ready() }
        #expect(calls.value == 0)

        subscriber.send(error(1))
        subscriber.send(error(2))
        #expect(calls.value == 1)
        #expect(messages(subscriber.takeForDrain()).count == 2)
        // Queued while the first drain was being written: no second wake-up, but endDrain says go again.
        subscriber.send(error(3))
        #expect(calls.value == 1)
        #expect(subscriber.endDrain() == true)
        #expect(messages(subscriber.takeForDrain()) == [error(3).json])
        #expect(subscriber.endDrain() == false)

        // The drain is over: the next item wakes the writer again.
        subscriber.send(error(4))
        #expect(calls.value == 2)
    }

    @Test func aFinishedSubscriberWakesNobodyAndHandsOutNothing() {
        let subscriber = Subscriber(zstd: false, maxQueuedBytes: 1 << 20, policy: .drop)
        let calls = Calls()
        subscriber.startDraining { calls.ready() }
        subscriber.finish()
        subscriber.send(error(1))
        #expect(calls.value == 0)
        #expect(subscriber.takeForDrain() == nil)
        #expect(subscriber.endDrain() == false)
    }
}
