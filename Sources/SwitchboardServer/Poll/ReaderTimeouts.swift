import HeapModule
import NIOCore
import Synchronization
import SwitchboardCore

/// The deadlines of waiting polls: one heap behind one timer, so a poll's timeout costs no
/// scheduled task of its own.
///
/// NIO cancels a scheduled task by a linear search of its loop's scheduled tasks, so 10,000
/// polls answered at once, each cancelling its own timer, made 10,000 searches through up to
/// 10,000 tasks. Here ending a poll only forgets its waiter (O(1)); its heap entry is skipped
/// when it comes due, and such entries are dropped in one pass once they outnumber the rest.
final class ReaderTimeouts: Sendable {
    /// A deadline in the heap; `id` is the waiter's.
    private struct Entry: Comparable {
        var deadline: NIODeadline
        var id: UInt64

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.deadline, lhs.id) < (rhs.deadline, rhs.id)
        }
    }

    private struct State {
        var heap = Heap<Entry>()
        /// The waiters still to be timed out, by id, with their deadline.
        var live: [UInt64: (deadline: NIODeadline, waiter: TopicWaiter)] = [:]
        /// The one timer, set for the earliest deadline when there is one.
        var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
    }

    private let state = Mutex(State())

    /// Times out nothing yet.
    init() {}

    /// Waiters still to be timed out.
    var count: Int { state.withLock { $0.live.count } }

    /// Fires `waiter` closed at `deadline` unless ``cancel(_:)`` comes first; a timer that
    /// must move earlier is set on `loop`.
    func add(_ waiter: TopicWaiter, deadline: NIODeadline, loop: any EventLoop) {
        state.withLock { state in
            state.live[waiter.id] = (deadline, waiter)
            state.heap.insert(Entry(deadline: deadline, id: waiter.id))
            if let timer = state.timer {
                guard deadline < timer.deadline else { return }
                timer.task.cancel()
            }
            state.timer = (deadline, loop.scheduleTask(deadline: deadline) { self.expire(loop: loop) })
        }
    }

    /// Forgets `waiter`: it will not be timed out.
    func cancel(_ waiter: TopicWaiter) {
        state.withLock { state in
            guard state.live.removeValue(forKey: waiter.id) != nil else { return }
            if state.live.isEmpty {
                state.heap = Heap()
                state.timer?.task.cancel()
                state.timer = nil
            } else if state.heap.count > 2 * state.live.count + 1024 {
                state.heap = Heap(state.live.map { Entry(deadline: $0.value.deadline, id: $0.key) })
            }
        }
    }

    /// Fires every waiter that is due and sets the timer for the next.
    private func expire(loop: any EventLoop) {
        let now = NIODeadline.now()
        let due: [TopicWaiter] = state.withLock { state in
            state.timer = nil
            var due: [TopicWaiter] = []
            while let first = state.heap.min {
                // An entry whose waiter is gone (or was added again) is dropped on the way.
                guard let entry = state.live[first.id], entry.deadline == first.deadline else {
                    state.heap.removeMin()
                    continue
                }
                guard first.deadline <= now else { break }
                state.heap.removeMin()
                state.live.removeValue(forKey: first.id)
                due.append(entry.waiter)
            }
            if let next = state.heap.min {
                state.timer = (next.deadline, loop.scheduleTask(deadline: next.deadline) { self.expire(loop: loop) })
            }
            return due
        }
        for waiter in due { waiter.fire(closed: true) }
    }
}
