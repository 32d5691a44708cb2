public import NIOCore
import Synchronization

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
    /// The permessage-deflate message, made by the first connection that asks for it and
    /// shared by every copy of this frame (so by every subscriber of the batch).
    private let deflated = DeflatedMessage()

    /// Payloads shorter than this are never sent deflated: the contract's 64-byte floor.
    public static let minimumDeflatedPayload = 64

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

    /// `plain` compressed for a permessage-deflate connection, as a whole WebSocket binary
    /// message with RSV1 set; nil when the payload is under ``minimumDeflatedPayload`` bytes or
    /// deflating does not make it smaller (send ``webSocketPlain`` then).
    ///
    /// `deflate` turns a payload into RFC 7692 §7.2.1 compressed data (trailing `00 00 FF FF`
    /// removed), or nil on failure. It runs at most once per frame, whichever thread asks
    /// first; later calls, from any thread, get the same bytes.
    public func webSocketDeflated(_ deflate: (ByteBuffer) -> ByteBuffer?) -> ByteBuffer? {
        guard plain.readableBytes >= Self.minimumDeflatedPayload else { return nil }
        return deflated.message { [plain] in
            guard let compressed = deflate(plain), compressed.readableBytes < plain.readableBytes else { return nil }
            return WebSocketFraming.binaryMessage(compressed, rsv1: true).framed
        }
    }
}

/// The once-made permessage-deflate message of an ``EncodedFrame``, behind a lock.
private final class DeflatedMessage: Sendable {
    /// nil: not made yet; `.some(nil)`: made, and not worth sending.
    private let storage: Mutex<ByteBuffer??> = Mutex(nil)

    /// The message, made by `make` on the first call.
    func message(_ make: () -> ByteBuffer?) -> ByteBuffer? {
        storage.withLock { stored in
            if let stored { return stored }
            let made = make()
            stored = .some(made)
            return made
        }
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
