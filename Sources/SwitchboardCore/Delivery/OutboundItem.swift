public import NIOCore

/// Consecutive events of one topic, encoded once and shared by every subscriber that gets them.
public struct EncodedFrame: Sendable {
    /// The topic of the events.
    public var topic: String
    /// The seq of the first event in the frame.
    public var firstSeq: UInt64
    /// The seq of the last event in the frame.
    public var lastSeq: UInt64
    /// The uncompressed frame.
    public var plain: ByteBuffer
    /// The compressed frame, when the topic has zstd subscribers and compression made it smaller.
    public var compressed: ByteBuffer?

    /// Creates an encoded frame.
    public init(topic: String, firstSeq: UInt64, lastSeq: UInt64, plain: ByteBuffer, compressed: ByteBuffer?) {
        self.topic = topic
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.plain = plain
        self.compressed = compressed
    }

    /// The bytes a connection sends: the compressed frame if it negotiated zstd and one exists.
    public func bytes(zstd: Bool) -> ByteBuffer {
        zstd ? (compressed ?? plain) : plain
    }
}

/// Something waiting in a subscriber's outbound queue.
public enum OutboundItem: Sendable {
    /// A control message and its JSON text, rendered once when queued (sent as a text frame).
    case control(ControlMessage, rendered: ByteBuffer)

    /// A control message, rendered.
    static func control(_ message: ControlMessage) -> OutboundItem {
        .control(message, rendered: message.buffer)
    }
    /// A binary frame of events.
    case events(EncodedFrame)
    /// Close the connection with this code and reason.
    case close(code: UInt16, reason: String)
}
