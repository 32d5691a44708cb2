/// The bounds of one topic's ring buffer.
public struct RingLimits: Sendable, Equatable, Codable {
    /// The most events kept (at least 1).
    public var capacity: Int
    /// The most payload bytes kept; the newest event always stays, whatever its size.
    public var maxBytes: Int
    /// The longest an event is kept, in seconds; 0 means no age limit.
    public var ttlSeconds: Int

    /// The embedded defaults: 1024 events, 8 MiB, no age limit.
    public init(capacity: Int = 1024, maxBytes: Int = 8 * 1024 * 1024, ttlSeconds: Int = 0) {
        self.capacity = capacity
        self.maxBytes = maxBytes
        self.ttlSeconds = ttlSeconds
    }

    /// The age limit in microseconds, or nil when there is none.
    public var ttlMicros: Int64? { ttlSeconds > 0 ? Int64(ttlSeconds) * 1_000_000 : nil }
}
