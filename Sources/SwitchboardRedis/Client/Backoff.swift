/// Exponential backoff with full jitter: attempt n waits a random time in 0…min(max, min·2ⁿ).
public struct Backoff: Sendable {
    /// Upper bound of the first wait.
    public var minimum: Duration
    /// Upper bound of every wait.
    public var maximum: Duration

    /// Creates a backoff.
    public init(minimum: Duration, maximum: Duration) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
    }

    /// The upper bound of the wait before attempt `attempt` (0 for the first retry).
    public func ceiling(attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt, 0), 30)
        let grown = minimum * factor
        return grown > maximum || grown < minimum ? maximum : grown
    }

    /// A wait before attempt `attempt`, drawn uniformly from zero to its ceiling.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// A wait before attempt `attempt`, from the system's random generator.
    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
