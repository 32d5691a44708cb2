import NIOCore
import Synchronization

/// Wake-ups of polls parked on one event loop, run in one task on that loop: a publish that
/// wakes 10,000 polls queues 10,000 small entries and one task, not 10,000 tasks.
final class LoopWakeups: Sendable {
    /// One woken poll: its connection's handler and the generation it was parked with.
    struct Wakeup: Sendable {
        /// The handler the poll is parked on.
        let handler: NIOLoopBound<PollParkingHandler>
        /// Tells a stale wake-up from the current one.
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
