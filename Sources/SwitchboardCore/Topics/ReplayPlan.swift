/// Where a subscription or a read starts in a topic's buffer.
public enum StartPosition: Sendable, Equatable {
    /// Only events published after now.
    case live
    /// Events with seq greater than the value; with an epoch, only if it is still current.
    case since(UInt64, epoch: String?)
    /// The newest N buffered events, then live.
    case last(Int)
}

/// What a reader gets from a buffer: the gap it must be told of, and the first seq to send.
///
/// Pure arithmetic over the buffer's bounds, so that every transport computes replays and
/// gaps the same way.
public struct ReplayPlan: Sendable, Equatable {
    /// The events before the buffer's start that the reader asked for but will never get.
    public var gap: ClosedRange<UInt64>?
    /// The reader receives events with seq greater than this.
    public var after: UInt64
    /// Whether the reader's epoch was stale and it restarts at the current epoch's buffer.
    public var reset: Bool

    /// Creates a plan.
    public init(gap: ClosedRange<UInt64>?, after: UInt64, reset: Bool) {
        self.gap = gap
        self.after = after
        self.reset = reset
    }

    /// Plans a read from `start` in a buffer holding `oldest...newest` in `epoch`.
    ///
    /// - Parameters:
    ///   - oldest: the oldest buffered seq (`newest + 1` when empty).
    ///   - newest: the newest seq ever published in this epoch (0 before the first).
    public static func make(start: StartPosition, oldest: UInt64, newest: UInt64, epoch: String) -> ReplayPlan {
        switch start {
        case .live:
            return ReplayPlan(gap: nil, after: newest, reset: false)
        case .last(let n):
            let buffered = newest + 1 - oldest
            let take = min(UInt64(max(n, 0)), buffered)
            return ReplayPlan(gap: nil, after: newest - take, reset: false)
        case .since(let since, let clientEpoch):
            // A stale epoch, or a seq this epoch never reached (say, a client of the previous
            // process that sends no epoch), restarts at the current buffer: skipping to `since`
            // would drop newer events without a word.
            let reset = (clientEpoch != nil && clientEpoch != epoch) || since > newest
            let after = reset ? 0 : since
            // `oldest` is at least 1, so this never overflows, whatever `since` a client sends.
            let gap: ClosedRange<UInt64>? = after < oldest - 1 ? (after + 1)...(oldest - 1) : nil
            return ReplayPlan(gap: gap, after: after, reset: reset)
        }
    }
}
