public import NIOCore

/// The header of a server-to-client WebSocket binary message (RFC 6455 §5.2), written once
/// per frame of events so that every subscriber is sent the same finished bytes.
///
/// Written here rather than taken from NIOWebSocket: its encoder frames each write anew (a
/// header buffer per subscriber per frame), and nothing listed frames a shared payload once.
/// Server frames are never masked, so one framing serves every connection.
public enum WebSocketFraming {
    /// `payload` framed as one unmasked binary message with FIN set, and `payload` again as a
    /// view into the framed bytes (so keeping both costs no second copy). `rsv1` marks the
    /// payload as compressed by permessage-deflate (RFC 7692 §6).
    public static func binaryMessage(_ payload: ByteBuffer, rsv1: Bool = false) -> (framed: ByteBuffer, payload: ByteBuffer) {
        let length = payload.readableBytes
        let headerLength = length < 126 ? 2 : (length <= 0xFFFF ? 4 : 10)
        var framed = ByteBuffer()
        framed.reserveCapacity(headerLength + length)
        framed.writeInteger(UInt8(rsv1 ? 0xC2 : 0x82))  // FIN, (RSV1,) binary
        switch headerLength {
        case 2: framed.writeInteger(UInt8(length))
        case 4:
            framed.writeInteger(UInt8(126))
            framed.writeInteger(UInt16(length))
        default:
            framed.writeInteger(UInt8(127))
            framed.writeInteger(UInt64(length))
        }
        framed.writeImmutableBuffer(payload)
        return (framed, framed.getSlice(at: framed.readerIndex + headerLength, length: length)!)
    }
}
