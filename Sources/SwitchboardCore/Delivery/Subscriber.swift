import Synchronization

/// One connection's side of delivery: its outbound queue and the writer that empties it.
///
/// The topic engine pushes into it from any thread without blocking. The queue calls the
/// writer back when items wait (see ``startDraining(whenReady:)``), and the writer takes
/// everything queued at once and writes it on its own thread, without a task. A slow writer
/// never slows the engine: the queue is bounded and applies its policy instead.
public final class Subscriber: Sendable {
    /// A process-unique id, shown to operators.
    public let id: UInt64
    /// Whether the connection negotiated zstd.
    public let zstd: Bool
    /// Whether the connection negotiated permessage-deflate (RFC 7692): its event frames go
    /// out as ``EncodedFrame/webSocketDeflated(_:)`` where that exists. Never with `zstd`.
    public let deflate: Bool
    /// The most subscriptions this connection may hold at once.
    public let maxSubscriptions: Int

    private struct State: ~Copyable {
        var queue: OutboundQueue
        var finished = false
        /// Called when items wait and no drain is under way.
        var onReady: (@Sendable () -> Void)?
        /// A drain was asked for and has not ended.
        var draining = false
    }

    private let state: Mutex<State>
    private static let nextID = Atomic<UInt64>(1)

    /// A new process-unique id; other kinds of connection draw theirs from the same sequence.
    public static func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Creates a subscriber whose queue holds at most `maxQueuedBytes` of frames; `deflate`
    /// when its connection negotiated permessage-deflate.
    public init(zstd: Bool, deflate: Bool = false, maxQueuedBytes: Int, policy: SlowConsumerPolicy, maxSubscriptions: Int = 1000) {
        self.id = Self.makeID()
        self.zstd = zstd
        self.deflate = deflate && !zstd
        self.maxSubscriptions = maxSubscriptions
        self.state = Mutex(State(queue: OutboundQueue(maxBytes: maxQueuedBytes, policy: policy, zstd: zstd)))
    }

    /// Runs `body` on the queue under the lock, then asks the writer for a drain if items
    /// wait and none is under way.
    @discardableResult
    public func withQueue<R>(_ body: (inout OutboundQueue) -> R) -> R {
        let (result, ready): (R, (@Sendable () -> Void)?) = state.withLock { state in
            let result = body(&state.queue)
            guard !state.queue.isEmpty, !state.finished, !state.draining, let onReady = state.onReady else { return (result, nil) }
            state.draining = true
            return (result, onReady)
        }
        ready?()
        return result
    }

    // MARK: Draining

    /// Starts delivery: from now on `ready` is called, outside the lock and on the thread
    /// that queued, whenever items wait and no drain is under way. The writer then calls
    /// ``takeForDrain()``, writes what it got, and calls ``endDrain()``.
    public func startDraining(whenReady ready: @escaping @Sendable () -> Void) {
        if startDrainingHere(whenReady: ready) { ready() }
    }

    /// ``startDraining(whenReady:)`` for a writer on the thread that may write now: when items
    /// already wait, the drain is marked under way and true returned instead of calling
    /// `ready`, and the caller drains at once (a new WebSocket's `subscribed` then leaves with
    /// its handshake answer, in one write).
    public func startDrainingHere(whenReady ready: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state -> Bool in
            state.onReady = ready
            guard !state.queue.isEmpty, !state.finished, !state.draining else { return false }
            state.draining = true
            return true
        }
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

    // MARK: Queueing

    /// Queues a control message.
    public func send(_ message: ControlMessage) {
        withQueue { $0.push(message) }
    }

    /// Queues a close; what was queued before is written first.
    public func close(code: UInt16, reason: String) {
        withQueue { $0.close(code: code, reason: reason) }
    }

    /// Ends the subscriber: nothing more is handed to the writer, even with items queued.
    public func finish() {
        state.withLock { state in
            state.finished = true
            state.onReady = nil  // it holds the writer, which holds this subscriber
        }
    }

    /// The topics this subscriber is subscribed to now.
    public var topics: [String] { state.withLock { Array($0.queue.subscriptions.keys).sorted() } }

    /// Bytes of frames queued now.
    public var queuedBytes: Int { state.withLock { $0.queue.queuedBytes } }

    /// Gaps sent because this subscriber read too slowly.
    public var slowGaps: UInt64 { state.withLock { $0.queue.slowGaps } }
}
