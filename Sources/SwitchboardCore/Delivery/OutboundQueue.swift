import DequeModule

/// What a reader that falls behind gets.
public enum SlowConsumerPolicy: String, Sendable, Codable, CaseIterable {
    /// Drop what is queued, say `gap` with the exact range, carry on with new events.
    case drop
    /// Close the connection with 4008.
    case disconnect
}

/// One subscriber's bounded outbound queue, as a state machine without I/O.
///
/// Frames of a topic are accepted only for the subscription generation that is current,
/// so nothing of an ended subscription leaks after its `unsubscribed`. When the queued
/// bytes would exceed the bound, every queued frame is dropped and replaced by `gap`
/// messages naming exactly the seqs lost (or, with ``SlowConsumerPolicy/disconnect``,
/// the queue is cleared and ends with a 4008 close).
public struct OutboundQueue: Sendable {
    /// The result of pushing a frame.
    public enum PushResult: Equatable, Sendable {
        /// Queued behind what was there.
        case queued
        /// Not queued: the subscription it belongs to is no longer current.
        case stale
        /// Queued after dropping older frames; `dropped` events were replaced by gaps.
        case droppedOlder(dropped: UInt64)
        /// The queue overflowed under the disconnect policy: the connection must close.
        case disconnect
        /// The queue is closed; nothing more is accepted.
        case closed
    }

    /// The close code sent to a subscriber that read too slowly.
    public static let tooSlowCloseCode: UInt16 = 4008

    /// The most bytes of frames queued before the slow-consumer policy applies.
    public let maxBytes: Int
    /// The policy applied on overflow.
    public let policy: SlowConsumerPolicy
    /// Whether this subscriber receives compressed frames where they exist.
    public let zstd: Bool

    /// Bytes of frames queued now.
    public private(set) var queuedBytes = 0
    /// Bytes of control messages queued now.
    public private(set) var controlBytes = 0
    /// Gap messages queued because this subscriber read too slowly, since it connected.
    public private(set) var slowGaps: UInt64 = 0
    /// Events dropped because this subscriber read too slowly, since it connected.
    public private(set) var droppedEvents: UInt64 = 0
    /// Whether a close is queued; after it nothing more is accepted.
    public private(set) var isClosed = false

    private var items: Deque<OutboundItem> = []
    private var generations: [String: UInt64] = [:]

    /// Creates an empty queue.
    public init(maxBytes: Int, policy: SlowConsumerPolicy, zstd: Bool) {
        self.maxBytes = maxBytes
        self.policy = policy
        self.zstd = zstd
    }

    /// Whether anything is waiting to be written.
    public var isEmpty: Bool { items.isEmpty }

    /// The topics with a current subscription, and their generations.
    public var subscriptions: [String: UInt64] { generations }

    /// Marks `topic`'s subscription `generation` current; frames of other generations are refused.
    public mutating func activate(topic: String, generation: UInt64) {
        generations[topic] = generation
    }

    /// Ends `topic`'s subscription; returns whether one was current.
    @discardableResult
    public mutating func deactivate(topic: String) -> Bool {
        generations.removeValue(forKey: topic) != nil
    }

    /// Whether `generation` is `topic`'s current subscription.
    public func isCurrent(topic: String, generation: UInt64) -> Bool {
        generations[topic] == generation
    }

    /// Queues a control message. Control messages are never dropped; if those waiting alone
    /// exceed the bound (a client that sends requests but never reads), the queue closes with 4008.
    public mutating func push(_ message: ControlMessage) {
        guard !isClosed else { return }
        let rendered = message.buffer
        controlBytes += rendered.readableBytes
        guard controlBytes <= maxBytes else {
            items.removeAll()
            queuedBytes = 0
            controlBytes = 0
            close(code: Self.tooSlowCloseCode, reason: "too slow")
            return
        }
        items.append(.control(message, rendered: rendered))
    }

    /// Queues a close; everything queued before it is still written first.
    public mutating func close(code: UInt16, reason: String) {
        guard !isClosed else { return }
        isClosed = true
        items.append(.close(code: code, reason: reason))
    }

    /// Queues a frame of `generation`'s subscription, applying the slow-consumer policy.
    public mutating func push(_ frame: EncodedFrame, generation: UInt64) -> PushResult {
        guard !isClosed else { return .closed }
        guard isCurrent(topic: frame.topic, generation: generation) else { return .stale }
        let size = frame.bytes(zstd: zstd).readableBytes
        // A lone frame larger than the bound is still accepted: memory stays bounded by one frame.
        guard queuedBytes > 0, queuedBytes + size > maxBytes else {
            enqueue(frame, size: size)
            return .queued
        }
        switch policy {
        case .disconnect:
            items.removeAll()
            queuedBytes = 0
            close(code: Self.tooSlowCloseCode, reason: "too slow")
            return .disconnect
        case .drop:
            let dropped = dropFrames()
            enqueue(frame, size: size)
            return .droppedOlder(dropped: dropped)
        }
    }

    /// Takes everything queued, in order.
    public mutating func popAll() -> [OutboundItem] {
        let out = Array(items)
        items.removeAll(keepingCapacity: true)
        queuedBytes = 0
        controlBytes = 0
        return out
    }

    private mutating func enqueue(_ frame: EncodedFrame, size: Int) {
        items.append(.events(frame))
        queuedBytes += size
    }

    /// Replaces every queued frame by gaps, keeping control messages and their order.
    ///
    /// Frames and gaps of one topic between two control messages of that topic form one
    /// contiguous run of seqs, so each run collapses into a single gap placed where the run
    /// ended. Returns how many events were dropped.
    private mutating func dropFrames() -> UInt64 {
        var kept: Deque<OutboundItem> = []
        var pending: [String: ClosedRange<UInt64>] = [:]
        var order: [String] = []
        var dropped: UInt64 = 0
        var gapCount: UInt64 = 0

        func extend(_ topic: String, _ range: ClosedRange<UInt64>) {
            if let existing = pending[topic] {
                pending[topic] = min(existing.lowerBound, range.lowerBound)...max(existing.upperBound, range.upperBound)
            } else {
                pending[topic] = range
                order.append(topic)
            }
        }
        func flush(_ topic: String) {
            guard let range = pending.removeValue(forKey: topic) else { return }
            order.removeAll { $0 == topic }
            gapCount += 1
            kept.append(.control(.gap(Gap(topic: topic, from: range.lowerBound, to: range.upperBound))))
        }

        for item in items {
            switch item {
            case .events(let frame):
                dropped += frame.lastSeq - frame.firstSeq + 1
                extend(frame.topic, frame.firstSeq...frame.lastSeq)
            case .control(.gap(let gap), _):
                extend(gap.topic, gap.from...gap.to)
            case .control(let message, _):
                if let topic = message.topic { flush(topic) }
                kept.append(item)
            case .close:
                kept.append(item)
            }
        }
        for topic in order { flush(topic) }
        items = kept
        queuedBytes = 0
        slowGaps += gapCount
        droppedEvents += dropped
        return dropped
    }
}
