import Synchronization

/// One connection's side of delivery: its outbound queue and the writer that waits on it.
///
/// The topic engine pushes into it from any thread without blocking; the connection's
/// writer task takes everything queued in one call to ``next()`` and writes it. A slow
/// writer never slows the engine: the queue is bounded and applies its policy instead.
public final class Subscriber: Sendable {
    /// A process-unique id, shown to operators.
    public let id: UInt64
    /// Whether the connection negotiated zstd.
    public let zstd: Bool
    /// The most subscriptions this connection may hold at once.
    public let maxSubscriptions: Int

    private struct State: ~Copyable {
        var queue: OutboundQueue
        var waiter: CheckedContinuation<[OutboundItem]?, Never>?
        var finished = false
    }

    private let state: Mutex<State>
    private static let nextID = Atomic<UInt64>(1)

    /// A new process-unique id; other kinds of connection draw theirs from the same sequence.
    public static func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Creates a subscriber whose queue holds at most `maxQueuedBytes` of frames.
    public init(zstd: Bool, maxQueuedBytes: Int, policy: SlowConsumerPolicy, maxSubscriptions: Int = 1000) {
        self.id = Self.makeID()
        self.zstd = zstd
        self.maxSubscriptions = maxSubscriptions
        self.state = Mutex(State(queue: OutboundQueue(maxBytes: maxQueuedBytes, policy: policy, zstd: zstd)))
    }

    /// Runs `body` on the queue under the lock, then wakes the writer if anything is waiting.
    @discardableResult
    public func withQueue<R>(_ body: (inout OutboundQueue) -> R) -> R {
        let (result, wake): (R, (CheckedContinuation<[OutboundItem]?, Never>, [OutboundItem])?) = state.withLock { state in
            let result = body(&state.queue)
            guard !state.queue.isEmpty, let waiter = state.waiter else { return (result, nil) }
            state.waiter = nil
            return (result, (waiter, state.queue.popAll()))
        }
        if let (waiter, items) = wake { waiter.resume(returning: items) }
        return result
    }

    /// Queues a control message.
    public func send(_ message: ControlMessage) {
        withQueue { $0.push(message) }
    }

    /// Queues a close; what was queued before is written first.
    public func close(code: UInt16, reason: String) {
        withQueue { $0.close(code: code, reason: reason) }
    }

    /// Waits for and takes everything queued; nil once the subscriber is finished and drained.
    public func next() async -> [OutboundItem]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: [OutboundItem]?? = state.withLock { state in
                    if state.finished || Task.isCancelled { return .some(nil) }
                    if !state.queue.isEmpty { return .some(state.queue.popAll()) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            finish()
        }
    }

    /// Ends the subscriber: the writer's next wait returns nil, even with items queued.
    public func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The topics this subscriber is subscribed to now.
    public var topics: [String] { state.withLock { Array($0.queue.subscriptions.keys).sorted() } }

    /// Bytes of frames queued now.
    public var queuedBytes: Int { state.withLock { $0.queue.queuedBytes } }

    /// Gaps sent because this subscriber read too slowly.
    public var slowGaps: UInt64 { state.withLock { $0.queue.slowGaps } }
}
