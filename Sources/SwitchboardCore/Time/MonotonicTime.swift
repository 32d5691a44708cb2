/// Monotonic time read from a `Clock` the owner is given, as the time since it was given:
/// what rate limits, caches and timeouts measure with, so that a test can pass a clock it moves
/// by hand instead of sleeping.
public struct MonotonicTime: Sendable {
    private let read: @Sendable () -> Duration

    /// Time read from `clock`, counted from now.
    public init<C: Clock>(_ clock: C) where C.Duration == Duration, C: Sendable, C.Instant: Sendable {
        let start = clock.now
        read = { start.duration(to: clock.now) }
    }

    /// The time since this value was made.
    public var now: Duration { read() }

    /// Time read from the process's `ContinuousClock`.
    public static var continuous: MonotonicTime { MonotonicTime(ContinuousClock()) }
}

/// Runs a topic's fan-out passes: off the publisher's path, one pass at a time per topic (the
/// topic sees to that). The broker runs them as tasks; a test runs them when it says so.
public protocol FanOutScheduler: Sendable {
    /// Runs `pass` soon, on some other thread or task than the caller's.
    func schedule(_ pass: @escaping @Sendable () -> Void)
}

/// Runs each pass in a task of its own on Swift's cooperative pool.
public struct TaskFanOutScheduler: FanOutScheduler {
    /// A scheduler.
    public init() {}

    public func schedule(_ pass: @escaping @Sendable () -> Void) {
        Task { pass() }
    }
}
