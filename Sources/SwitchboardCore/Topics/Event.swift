public import NIOCore

/// One published event as the broker keeps it.
public struct Event: Sendable, Equatable {
    /// The topic's sequence number of this event, from 1 with no holes.
    public var seq: UInt64
    /// The broker's receive time, in microseconds since the Unix epoch.
    public var ts: Int64
    /// The payload, opaque bytes.
    public var payload: ByteBuffer
    /// The publisher's content type, verbatim.
    public var contentType: String

    /// Creates an event.
    public init(seq: UInt64, ts: Int64, payload: ByteBuffer, contentType: String) {
        self.seq = seq
        self.ts = ts
        self.payload = payload
        self.contentType = contentType
    }
}

/// An inclusive range of sequence numbers that a subscriber will never receive.
public struct Gap: Sendable, Equatable, CustomStringConvertible {
    /// The topic the gap belongs to.
    public var topic: String
    /// The first missing sequence number.
    public var from: UInt64
    /// The last missing sequence number (inclusive).
    public var to: UInt64

    /// Creates a gap; `from` must not exceed `to`.
    public init(topic: String, from: UInt64, to: UInt64) {
        precondition(from <= to, "a gap covers at least one event")
        self.topic = topic
        self.from = from
        self.to = to
    }

    /// How many events the gap covers.
    public var count: UInt64 { to - from + 1 }

    public var description: String { "gap(\(topic) \(from)...\(to))" }
}
