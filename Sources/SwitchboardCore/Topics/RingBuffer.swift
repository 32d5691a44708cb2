import DequeModule
public import NIOCore

/// A topic's recent events, bounded by count, payload bytes and age.
///
/// Events leave only from the old end and the newest event always stays. Sequence numbers
/// are assigned here, from 1 with no holes. Idempotency keys are remembered for as long as
/// the event they name is buffered.
public struct RingBuffer: Sendable {
    /// The bounds in force; change them with ``setLimits(_:now:)``.
    public private(set) var limits: RingLimits
    /// The sequence number of the newest event ever appended (0 before the first).
    public private(set) var newestSeq: UInt64 = 0
    /// Payload bytes currently buffered.
    public private(set) var bufferedBytes: Int = 0
    /// Events evicted so far, by any bound.
    public private(set) var evictedCount: UInt64 = 0

    private var events: Deque<Event> = []
    private var keys: [String: UInt64] = [:]
    private var keyOfSeq: [UInt64: String] = [:]

    /// Creates an empty ring with `limits`.
    public init(limits: RingLimits) {
        self.limits = limits
    }

    /// How many events are buffered.
    public var count: Int { events.count }

    /// The oldest buffered sequence number, or `newestSeq + 1` when the ring is empty.
    public var oldestSeq: UInt64 { events.first?.seq ?? newestSeq + 1 }

    /// The newest buffered event, if any.
    public var newest: Event? { events.last }

    /// The buffered event with `seq`, if it is still there.
    public func event(seq: UInt64) -> Event? {
        guard let first = events.first?.seq, seq >= first, seq <= newestSeq else { return nil }
        return events[Int(seq - first)]
    }

    /// The event an idempotency key names, while it is buffered.
    public func event(idempotencyKey key: String) -> Event? {
        keys[key].flatMap { event(seq: $0) }
    }

    /// Appends a payload as the next event and evicts what the limits no longer allow.
    ///
    /// A payload that is a small slice of a much larger buffer (a request body read together
    /// with other requests, or into a grown receive buffer) is copied into a buffer of its own
    /// first: kept as it is, it would hold the whole buffer's memory for as long as the event
    /// is buffered, and the ring's byte bound would not bound memory.
    @discardableResult
    public mutating func append(payload: ByteBuffer, contentType: String, ts: Int64, idempotencyKey: String? = nil) -> Event {
        newestSeq += 1
        let event = Event(seq: newestSeq, ts: ts, payload: Self.owned(payload), contentType: contentType)
        events.append(event)
        bufferedBytes += payload.readableBytes
        if let idempotencyKey {
            keys[idempotencyKey] = event.seq
            keyOfSeq[event.seq] = idempotencyKey
        }
        evict(now: ts)
        return event
    }

    /// Evicts from the old end whatever exceeds count, bytes or age at time `now` (µs).
    public mutating func evict(now: Int64) {
        let cutoff = limits.ttlMicros.map { now - $0 }
        while events.count > 1 {
            let overCount = events.count > limits.capacity
            let overBytes = bufferedBytes > limits.maxBytes
            // Reads the oldest event's time in place (a copy of the event would retain its payload).
            let overAge = cutoff.map { events[events.startIndex].ts < $0 } ?? false
            guard overCount || overBytes || overAge else { break }
            removeOldest()
        }
    }

    /// Replaces the limits and evicts at once what no longer fits.
    public mutating func setLimits(_ limits: RingLimits, now: Int64) {
        self.limits = limits
        evict(now: now)
    }

    /// The buffered events with seq greater than `after`, at most `limit` of them, oldest first.
    public func events(after: UInt64, limit: Int = .max) -> [Event] {
        guard let first = events.first?.seq, after < newestSeq, limit > 0 else { return [] }
        let start = after < first ? 0 : Int(after - first + 1)
        let end = start + min(limit, events.count - start)
        return Array(events[start..<end])
    }

    /// `payload`, or a copy of it when it is a slice of a buffer more than twice its size (and
    /// over 1 KiB larger).
    static func owned(_ payload: ByteBuffer) -> ByteBuffer {
        guard payload.storageCapacity > 2 * payload.readableBytes + 1024 else { return payload }
        var copy = ByteBuffer()
        copy.reserveCapacity(payload.readableBytes)
        copy.writeImmutableBuffer(payload)
        return copy
    }

    private mutating func removeOldest() {
        let removed = events.removeFirst()
        bufferedBytes -= removed.payload.readableBytes
        evictedCount += 1
        if let key = keyOfSeq.removeValue(forKey: removed.seq) {
            keys.removeValue(forKey: key)
        }
    }
}
