import Synchronization

/// A one-shot wake-up that a waiting reader (a long-poll or an SSE stream) leaves on the
/// topics it follows.
///
/// The engine fires it when a topic gets a new event or is deleted; a timer, a drain or an
/// operator fires it too. Waiting holds no thread: ``wait()`` suspends on a continuation, and
/// ``onFire(_:)`` holds not even a task (a poll parked on its connection's event loop).
public final class TopicWaiter: Sendable {
    /// Why a waiter woke up.
    public struct Wake: Sendable, Equatable {
        /// Topics that an operator deleted while it waited.
        public var deleted: [String] = []
        /// Whether it was told to stop waiting for good (drain, operator, timeout of a stream).
        public var closed = false

        /// A wake for no reason yet.
        public init() {}
    }

    private struct State: ~Copyable {
        var fired = false
        var wake = Wake()
        var continuation: CheckedContinuation<Void, Never>?
        var action: (@Sendable () -> Void)?
    }

    /// A process-unique id, the key under which topics hold the waiter.
    public let id: UInt64
    private let state = Mutex(State())
    private static let ids = Atomic<UInt64>(1)

    /// Creates a waiter that has not fired.
    public init() {
        id = Self.ids.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Wakes the waiter; `deleted` names a topic that was deleted, `closed` ends the wait for good.
    public func fire(deleted: String? = nil, closed: Bool = false) {
        let (continuation, action) = state.withLock { state in
            if let deleted { state.wake.deleted.append(deleted) }
            if closed { state.wake.closed = true }
            state.fired = true
            defer {
                state.continuation = nil
                state.action = nil
            }
            return (state.continuation, state.action)
        }
        continuation?.resume()
        action?()
    }

    /// Calls `action` once when the waiter fires, on the thread that fires it (at once if it
    /// already has); ``take()`` then says why. For readers that wait without a task.
    public func onFire(_ action: @escaping @Sendable () -> Void) {
        let ready = state.withLock { state in
            if state.fired { return true }
            state.action = action
            return false
        }
        if ready { action() }
    }

    /// Whether the waiter has fired.
    public var isFired: Bool { state.withLock { $0.fired } }

    /// Suspends until the waiter fires (at once if it already has) and returns why; the
    /// waiter is then ready to wait again, unless it was closed.
    public func wait() async -> Wake {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.fired { return true }
                state.continuation = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return take()
    }

    /// Returns why the waiter fired so far without waiting, and makes it ready to wait again
    /// unless it was closed.
    public func take() -> Wake {
        state.withLock { state in
            let wake = state.wake
            state.wake.deleted = []
            state.fired = state.wake.closed
            return wake
        }
    }
}
