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
    public private(set) var plain: ByteBuffer
    /// The compressed frame, when the topic has zstd subscribers and compression made it smaller.
    public private(set) var compressed: ByteBuffer?
    /// `plain` as a whole WebSocket binary message (header and payload).
    public private(set) var webSocketPlain: ByteBuffer
    /// `compressed` as a whole WebSocket binary message.
    public private(set) var webSocketCompressed: ByteBuffer?

    /// Creates an encoded frame, and frames it for WebSocket connections once for all of them.
    public init(topic: String, firstSeq: UInt64, lastSeq: UInt64, plain: ByteBuffer, compressed: ByteBuffer?) {
        self.topic = topic
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        (self.webSocketPlain, self.plain) = WebSocketFraming.binaryMessage(plain)
        if let compressed {
            let (framed, payload) = WebSocketFraming.binaryMessage(compressed)
            self.webSocketCompressed = framed
            self.compressed = payload
        }
    }

    /// The bytes a connection sends: the compressed frame if it negotiated zstd and one exists.
    public func bytes(zstd: Bool) -> ByteBuffer {
        zstd ? (compressed ?? plain) : plain
    }

    /// ``bytes(zstd:)`` as a whole WebSocket binary message, ready to write.
    public func webSocketMessage(zstd: Bool) -> ByteBuffer {
        zstd ? (webSocketCompressed ?? webSocketPlain) : webSocketPlain
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
