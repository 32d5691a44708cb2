/// Settings of the in-memory topic engine; the defaults are the embedded defaults.
public struct EngineConfiguration: Sendable, Equatable {
    /// Ring bounds of every topic unless an operator sets its own.
    public var ringLimits: RingLimits
    /// The largest payload accepted, in bytes (inclusive).
    public var maxPayloadBytes: Int
    /// The most topics that may exist at once.
    public var maxTopics: Int
    /// A topic with no subscribers whose newest event is older than this is dropped (seconds).
    public var idleTopicSeconds: Int
    /// The zstd level used to compress frames.
    public var zstdLevel: Int32

    /// Creates a configuration; every argument has the embedded default.
    public init(
        ringLimits: RingLimits = RingLimits(),
        maxPayloadBytes: Int = 1_048_576,
        maxTopics: Int = 100_000,
        idleTopicSeconds: Int = 3600,
        zstdLevel: Int32 = 3
    ) {
        self.ringLimits = ringLimits
        self.maxPayloadBytes = maxPayloadBytes
        self.maxTopics = maxTopics
        self.idleTopicSeconds = idleTopicSeconds
        self.zstdLevel = zstdLevel
    }
}

/// Wall-clock time in microseconds since the Unix epoch.
public enum WallClock {
    /// The current time in µs.
    @Sendable public static func micros() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
