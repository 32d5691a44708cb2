public import NIOCore

/// The binary WebSocket frame that carries consecutive events of one topic.
///
/// ```
/// u8 flags · u16 topic length · topic · u64 first seq · u32 count · count × (i64 ts · u32 length · payload)
/// ```
/// Flag bit 0 means everything after the flags byte is one zstd frame.
public enum EventFrame {
    /// Flag bit 0: the body after the flags byte is one zstd frame.
    public static let compressedFlag: UInt8 = 0x01
    /// Bodies shorter than this are never compressed.
    public static let minimumCompressibleBody = 64
    /// Bytes of per-event header inside a frame (ts and length).
    public static let perEventOverhead = 12

    /// The size of the uncompressed frame that would hold `events` of `topic`.
    public static func encodedSize(topic: String, events: some Collection<Event>) -> Int {
        1 + 2 + topic.utf8.count + 8 + 4 + events.reduce(0) { $0 + perEventOverhead + $1.payload.readableBytes }
    }

    /// Encodes consecutive events of `topic` into one uncompressed frame.
    ///
    /// - Precondition: `events` is not empty and its seqs are consecutive.
    public static func encode(topic: String, events: some Collection<Event>, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        precondition(!events.isEmpty, "a frame holds at least one event")
        var buffer = allocator.buffer(capacity: encodedSize(topic: topic, events: events))
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt16(topic.utf8.count))
        buffer.writeString(topic)
        buffer.writeInteger(events.first!.seq)
        buffer.writeInteger(UInt32(events.count))
        var expected = events.first!.seq
        for event in events {
            precondition(event.seq == expected, "events of a frame are consecutive")
            expected += 1
            buffer.writeInteger(event.ts)
            buffer.writeInteger(UInt32(event.payload.readableBytes))
            buffer.writeImmutableBuffer(event.payload)
        }
        return buffer
    }

    /// Compresses an uncompressed frame's body, returning the compressed frame only when it is smaller.
    public static func compress(_ frame: ByteBuffer, with compressor: ZstdCompressor) throws -> ByteBuffer? {
        let bodyLength = frame.readableBytes - 1
        guard bodyLength >= minimumCompressibleBody,
            let body = frame.getSlice(at: frame.readerIndex + 1, length: bodyLength)
        else { return nil }
        var out = ByteBufferAllocator().buffer(capacity: ZstdCompressor.bound(bodyLength) + 1)
        out.writeInteger(compressedFlag)
        try compressor.compress(body, into: &out)
        return out.readableBytes < frame.readableBytes ? out : nil
    }

    /// A decoded frame: what a client sees.
    public struct Decoded: Sendable, Equatable {
        /// Whether the frame arrived compressed.
        public var compressed: Bool
        /// The topic of every event in the frame.
        public var topic: String
        /// The events, with their seqs filled in from the frame's first seq.
        public var events: [Event]
    }

    /// Decodes a frame, decompressing it when flag bit 0 is set. Events get `contentType` "".
    public static func decode(_ frame: ByteBuffer, decompressor: ZstdDecompressor) throws -> Decoded {
        var frame = frame
        guard let flags = frame.readInteger(as: UInt8.self) else { throw FrameError.truncated }
        guard flags & ~compressedFlag == 0 else { throw FrameError.unknownFlags(flags) }
        var body: ByteBuffer
        if flags & compressedFlag != 0 {
            body = try decompressor.decompress(frame)
        } else {
            body = frame
        }
        guard let topicLength = body.readInteger(as: UInt16.self),
            let topic = body.readString(length: Int(topicLength)),
            let first = body.readInteger(as: UInt64.self),
            let count = body.readInteger(as: UInt32.self), count >= 1
        else { throw FrameError.truncated }
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        for index in 0..<UInt64(count) {
            guard let ts = body.readInteger(as: Int64.self),
                let length = body.readInteger(as: UInt32.self),
                let payload = body.readSlice(length: Int(length))
            else { throw FrameError.truncated }
            events.append(Event(seq: first + index, ts: ts, payload: payload, contentType: ""))
        }
        guard body.readableBytes == 0 else { throw FrameError.trailingBytes(body.readableBytes) }
        return Decoded(compressed: flags & compressedFlag != 0, topic: topic, events: events)
    }
}

/// A frame that does not follow the layout.
public enum FrameError: Error, Equatable {
    /// The frame ended before a field it announced.
    case truncated
    /// Bits other than bit 0 were set in the flags byte.
    case unknownFlags(UInt8)
    /// Bytes were left after the last event.
    case trailingBytes(Int)
}
