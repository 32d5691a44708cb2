import NIOCore
import Synchronization

/// One topic: its ring buffer, its epoch and its subscribers, behind one lock.
///
/// Publishing appends under the lock and returns; a fan-out pass (see `Topic+FanOut.swift`)
/// later takes every event appended since the previous pass, encodes them once and hands
/// the same bytes to every subscriber.
final class Topic: Sendable {
    struct Subscription {
        let subscriber: Subscriber
        let generation: UInt64
        /// The subscriber gets only events with a seq greater than this.
        let after: UInt64
    }

    struct State: ~Copyable {
        var epoch: String
        var ring: RingBuffer
        /// Events up to this seq have been taken by a fan-out pass.
        var fannedThrough: UInt64 = 0
        var passScheduled = false
        var subscriptions: [UInt64: Subscription] = [:]
        var zstdSubscribers = 0
        /// Set when the topic leaves the registry; users must look it up again.
        var retired = false
        /// Readers waiting for the next event (long-polls, SSE streams); fired and cleared on append.
        var waiters: [UInt64: TopicWaiter] = [:]
        var createdAt: Int64
    }

    let name: String
    let state: Mutex<State>

    init(name: String, limits: RingLimits, now: Int64) {
        self.name = name
        self.state = Mutex(State(epoch: Epoch.random(), ring: RingBuffer(limits: limits), createdAt: now))
    }
}

/// A snapshot of one topic for operators and tests.
public struct TopicInfo: Sendable, Equatable {
    /// The topic's name.
    public var name: String
    /// The current epoch.
    public var epoch: String
    /// The newest seq (0 before the first event).
    public var seq: UInt64
    /// The oldest buffered seq (`seq + 1` when nothing is buffered).
    public var oldestSeq: UInt64
    /// Events buffered.
    public var bufferedEvents: Int
    /// Payload bytes buffered.
    public var bufferedBytes: Int
    /// WebSocket subscribers.
    public var subscribers: Int
    /// The ring's bounds.
    public var limits: RingLimits
}

extension Topic {
    /// A snapshot for operators.
    var info: TopicInfo {
        state.withLock { state in
            TopicInfo(
                name: name, epoch: state.epoch, seq: state.ring.newestSeq, oldestSeq: state.ring.oldestSeq,
                bufferedEvents: state.ring.count, bufferedBytes: state.ring.bufferedBytes,
                subscribers: state.subscriptions.count, limits: state.ring.limits
            )
        }
    }
}
