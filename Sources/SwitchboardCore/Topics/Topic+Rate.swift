/// Events appended per wall-clock second over the last minute, for one topic.
///
/// Sixty one-second buckets in a ring, allocated on the first append; recording is one
/// array write, reading sums at most sixty numbers.
public struct PublishRate: Sendable, Equatable {
    /// The window the rate is averaged over, in seconds.
    public static let windowSeconds = 60

    private var counts: [UInt32] = []
    /// The second (since the Unix epoch) of the newest bucket.
    private var newestSecond: Int64 = 0

    /// Creates an empty rate: nothing appended yet.
    public init() {}

    /// Counts `events` appended at `now` (µs since the Unix epoch).
    public mutating func record(at now: Int64, events: UInt32 = 1) {
        let second = Self.second(now)
        if counts.isEmpty {
            counts = Array(repeating: 0, count: Self.windowSeconds)
            newestSecond = second
        }
        if second > newestSecond {
            // Clear the buckets of the seconds skipped since the newest one (all of them after a minute).
            let skipped = min(second - newestSecond, Int64(Self.windowSeconds))
            for offset in 1...skipped { counts[Self.slot(newestSecond + offset)] = 0 }
            newestSecond = second
        }
        // A clock that stepped back by more than the window is counted in the newest bucket.
        let target = newestSecond - second < Int64(Self.windowSeconds) ? second : newestSecond
        counts[Self.slot(target)] &+= events
    }

    /// Events appended in the minute up to `now`, including the current second.
    public func events(inMinuteUpTo now: Int64) -> UInt64 {
        guard !counts.isEmpty else { return 0 }
        let second = Self.second(now)
        let oldest = second - Int64(Self.windowSeconds) + 1
        guard newestSecond >= oldest else { return 0 }
        var total: UInt64 = 0
        for bucket in max(oldest, newestSecond - Int64(Self.windowSeconds) + 1)...newestSecond where bucket <= second {
            total += UInt64(counts[Self.slot(bucket)])
        }
        return total
    }

    /// Events per second averaged over the minute up to `now`.
    public func perSecond(now: Int64) -> Double {
        Double(events(inMinuteUpTo: now)) / Double(Self.windowSeconds)
    }

    /// Events appended in each of the `seconds` whole seconds before the one holding `now`, oldest first.
    public func history(seconds: Int, now: Int64) -> [UInt32] {
        let count = min(max(seconds, 0), Self.windowSeconds - 1)
        let current = Self.second(now)
        return (0..<count).map { index in
            let second = current - Int64(count - index)
            guard !counts.isEmpty, second <= newestSecond, newestSecond - second < Int64(Self.windowSeconds) else { return 0 }
            return counts[Self.slot(second)]
        }
    }

    private static func second(_ micros: Int64) -> Int64 {
        micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    }

    private static func slot(_ second: Int64) -> Int {
        Int(((second % Int64(windowSeconds)) + Int64(windowSeconds)) % Int64(windowSeconds))
    }
}

extension Topic {
    /// A snapshot for operators, with the publish rate over the minute up to `now`.
    func info(now: Int64) -> TopicInfo {
        var info = self.info
        info.publishRate = state.withLock { $0.publishRate.perSecond(now: now) }
        return info
    }
}
