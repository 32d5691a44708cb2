import Synchronization
import SwitchboardCore

/// Token buckets that bound the publish rate of each credential (anonymous callers: each IP address).
///
/// A bucket holds up to `burst` events and refills at `rate` events per second. A request for
/// `n` events passes when the bucket holds at least `min(n, burst)` and then takes all `n`, so a
/// batch larger than the burst is not refused for ever: it leaves the bucket in debt, and the
/// same credential waits until the rate has paid it back.
final class PublishRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Duration
    }

    /// Events per second; 0 turns the limiter off.
    let rate: Double
    /// The most events a full bucket holds.
    let burst: Double
    private let time: MonotonicTime
    private let buckets = Mutex<[String: Bucket]>([:])
    private let lastPrune = Mutex<Duration?>(nil)

    /// Creates a limiter; `rate` 0 means no limit, `burst` 0 means one second's worth; buckets
    /// refill by `time`.
    init(rate: Int, burst: Int, time: MonotonicTime = .continuous) {
        self.rate = Double(rate)
        self.burst = Double(burst > 0 ? burst : max(rate, 1))
        self.time = time
    }

    /// Whether the limiter does anything.
    var isEnabled: Bool { rate > 0 }

    /// Takes `events` from `key`'s bucket, or throws 429 `rate_limited` with the seconds to wait.
    func take(_ events: Int, for key: String) throws(APIError) {
        guard isEnabled else { return }
        let now = time.now
        let wanted = Double(events)
        let wait: Double? = buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            let needed = min(wanted, burst)
            defer { buckets[key] = bucket }
            guard bucket.tokens >= needed else { return (needed - bucket.tokens) / rate }
            bucket.tokens -= wanted
            return nil
        }
        pruneIfDue(now)
        if let wait {
            var error = APIError(.rateLimited, message: "Publishing faster than \(Self.format(rate)) events per second; retry later.")
            error.retryAfter = max(1, Int(wait.rounded(.up)))
            throw error
        }
    }

    /// Forgets buckets that have refilled (a full bucket is the same as none), at most once a
    /// second and only when there are many, so one-off callers do not accumulate.
    private func pruneIfDue(_ now: Duration) {
        let due = lastPrune.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        let (burst, rate) = (burst, rate)
        buckets.withLock { buckets in
            guard buckets.count > 10_000 else { return }
            buckets = buckets.filter { _, bucket in
                bucket.tokens + Double((now - bucket.updated).components.seconds) * rate < burst
            }
        }
    }

    private static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
