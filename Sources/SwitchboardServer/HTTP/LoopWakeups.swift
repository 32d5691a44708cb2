import NIOCore
import Synchronization

/// A channel handler that work from other threads wakes on its event loop.
protocol LoopWakeable: AnyObject {
    /// Runs on the handler's event loop; `generation` is what the waker passed along.
    func woken(_ generation: UInt64)
}

/// Wake-ups of channel handlers on one event loop, run in one task on that loop: a publish
/// that wakes 10,000 parked polls, or a fan-out pass that fills 1,000 WebSocket queues,
/// queues that many small entries and one task, not one task each.
final class LoopWakeups: Sendable {
    /// One wake-up: the handler and what to tell it.
    struct Wakeup: Sendable {
        /// The handler to wake.
        let handler: NIOLoopBound<any LoopWakeable>
        /// Tells a stale wake-up from the current one, where the handler needs to.
        let generation: UInt64
    }

    /// The loop the wake-ups run on.
    let loop: any EventLoop
    private let pending = Mutex<(wakeups: [Wakeup], scheduled: Bool)>(([], false))
    private static let byLoop = Mutex<[ObjectIdentifier: LoopWakeups]>([:])

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    /// The wake-ups of `loop` (one object per loop, for the life of the process).
    static func of(_ loop: any EventLoop) -> LoopWakeups {
        byLoop.withLock { all in
            if let existing = all[ObjectIdentifier(loop)] { return existing }
            let created = LoopWakeups(loop: loop)
            all[ObjectIdentifier(loop)] = created
            return created
        }
    }

    /// Queues a wake-up, from any thread; the first of a batch schedules the task that runs them.
    func post(_ wakeup: Wakeup) {
        let schedule = pending.withLock { pending in
            pending.wakeups.append(wakeup)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule { loop.execute { self.run() } }
    }

    /// Runs every queued wake-up, on the loop.
    private func run() {
        let wakeups = pending.withLock { pending in
            pending.scheduled = false
            var taken: [Wakeup] = []
            swap(&taken, &pending.wakeups)
            return taken
        }
        for wakeup in wakeups { wakeup.handler.value.woken(wakeup.generation) }
    }
}
