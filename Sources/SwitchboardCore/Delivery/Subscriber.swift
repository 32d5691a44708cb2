import Synchronization

/// One connection's side of delivery: its outbound queue and the writer that empties it.
///
/// The topic engine pushes into it from any thread without blocking. A writer takes
/// everything queued at once, in one of two ways: a task awaits ``next()``, or (push mode,
/// see ``startDraining(whenReady:)``) the queue calls the writer back when items wait and
/// the writer drains on its own thread, without a task. A slow writer never slows the
/// engine: the queue is bounded and applies its policy instead.
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
        /// Push mode: called when items wait and no drain is under way.
        var onReady: (@Sendable () -> Void)?
        /// Push mode: a drain was asked for and has not ended.
        var draining = false
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

    /// How the writer is woken after items were queued.
    private enum Wake {
        case resume(CheckedContinuation<[OutboundItem]?, Never>, [OutboundItem])
        case ready(@Sendable () -> Void)
    }

    /// Runs `body` on the queue under the lock, then wakes the writer if anything is waiting.
    @discardableResult
    public func withQueue<R>(_ body: (inout OutboundQueue) -> R) -> R {
        let (result, wake): (R, Wake?) = state.withLock { state in
            let result = body(&state.queue)
            guard !state.queue.isEmpty, !state.finished else { return (result, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (result, .resume(waiter, state.queue.popAll()))
            }
            if let onReady = state.onReady, !state.draining {
                state.draining = true
                return (result, .ready(onReady))
            }
            return (result, nil)
        }
        switch wake {
        case .resume(let waiter, let items): waiter.resume(returning: items)
        case .ready(let onReady): onReady()
        case nil: break
        }
        return result
    }

    // MARK: Push mode

    /// Switches to push mode: from now on `ready` is called, outside the lock and on the
    /// thread that queued, whenever items wait and no drain is under way. The writer then
    /// calls ``takeForDrain()``, writes what it got, and calls ``endDrain()``.
    ///
    /// Use either this or ``next()``, not both.
    public func startDraining(whenReady ready: @escaping @Sendable () -> Void) {
        let call = state.withLock { state -> Bool in
            state.onReady = ready
            guard !state.queue.isEmpty, !state.finished, !state.draining else { return false }
            state.draining = true
            return true
        }
        if call { ready() }
    }

    /// Takes everything queued, for the drain `ready` asked for; nil once the subscriber is finished.
    public func takeForDrain() -> [OutboundItem]? {
        state.withLock { state in state.finished ? nil : state.queue.popAll() }
    }

    /// Ends a drain once its items are written: true when more were queued meanwhile (drain
    /// again), false when the queue is empty and the next item will call `ready` again.
    public func endDrain() -> Bool {
        state.withLock { state in
            guard !state.finished, !state.queue.isEmpty else {
                state.draining = false
                return false
            }
            return true
        }
    }

    // MARK: Task mode

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
            state.onReady = nil
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
