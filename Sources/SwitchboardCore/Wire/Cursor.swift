#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The opaque, URL-safe position of an HTTP reader (long-poll or SSE) in several topics.
///
/// It carries, for every topic, the epoch and the newest seq the reader has seen (or been
/// told it will never get). Layout before base64url without padding, integers big-endian:
///
/// ```
/// u8 version (1) · u8 count N · N × (u8 len · topic · u8 len · epoch · u64 seq) · u32 FNV-1a of all before
/// ```
/// The checksum makes a garbled cursor an error instead of a silent jump to another position.
public struct Cursor: Sendable, Equatable {
    /// One topic's position.
    public struct Position: Sendable, Equatable {
        /// The topic.
        public var topic: String
        /// The epoch the seq belongs to.
        public var epoch: String
        /// The newest seq the reader has seen or was told it missed.
        public var seq: UInt64

        /// Creates a position.
        public init(topic: String, epoch: String, seq: UInt64) {
            self.topic = topic
            self.epoch = epoch
            self.seq = seq
        }
    }

    /// The positions, one per topic, in the reader's topic order.
    public var positions: [Position]

    /// The most topics one cursor holds.
    public static let maxTopics = 100
    private static let version: UInt8 = 1

    /// Creates a cursor from positions.
    public init(positions: [Position]) {
        self.positions = positions
    }

    /// The position of `topic`, if the cursor has one.
    public func position(of topic: String) -> Position? {
        positions.first { $0.topic == topic }
    }

    /// The cursor as URL-safe text (base64url, no padding).
    public func encoded() -> String {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.version)
        buffer.writeInteger(UInt8(positions.count))
        for position in positions {
            buffer.writeInteger(UInt8(position.topic.utf8.count))
            buffer.writeString(position.topic)
            buffer.writeInteger(UInt8(position.epoch.utf8.count))
            buffer.writeString(position.epoch)
            buffer.writeInteger(position.seq)
        }
        buffer.writeInteger(Self.checksum(buffer.readableBytesView))
        var text = Array(Data(buffer.readableBytesView).base64EncodedString().utf8)
        while text.last == UInt8(ascii: "=") { text.removeLast() }
        for index in text.indices {
            switch text[index] {
            case UInt8(ascii: "+"): text[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): text[index] = UInt8(ascii: "_")
            default: break
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes text made by ``encoded()``; nil when it is garbled in any way.
    public init?(decoding text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.count <= 4 * 1024,
            text.utf8.allSatisfy({ TopicName.isURLSafe($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") })
        else { return nil }
        var base64 = Array(text.utf8)
        for index in base64.indices {
            switch base64[index] {
            case UInt8(ascii: "-"): base64[index] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): base64[index] = UInt8(ascii: "/")
            default: break
            }
        }
        base64 += Array(repeating: UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: Data(base64)), data.count >= 6 else { return nil }
        var buffer = ByteBuffer(bytes: data)
        let body = buffer.readableBytesView.dropLast(4)
        guard buffer.getInteger(at: buffer.writerIndex - 4, as: UInt32.self) == Self.checksum(body),
            buffer.readInteger(as: UInt8.self) == Self.version,
            let count = buffer.readInteger(as: UInt8.self), count >= 1, count <= Self.maxTopics
        else { return nil }
        var positions: [Position] = []
        for _ in 0..<count {
            guard let topicLength = buffer.readInteger(as: UInt8.self),
                let topic = buffer.readString(length: Int(topicLength)), TopicName.isValid(topic),
                let epochLength = buffer.readInteger(as: UInt8.self), epochLength >= 1, epochLength <= 32,
                let epoch = buffer.readString(length: Int(epochLength)), epoch.utf8.allSatisfy(TopicName.isURLSafe),
                let seq = buffer.readInteger(as: UInt64.self),
                !positions.contains(where: { $0.topic == topic })
            else { return nil }
            positions.append(Position(topic: topic, epoch: epoch, seq: seq))
        }
        guard buffer.readableBytes == 4 else { return nil }
        self.positions = positions
        // base64 leaves unused bits in a last character; only the canonical text is the cursor.
        guard encoded() == text else { return nil }
    }

    /// 32-bit FNV-1a, written here because it is five lines and only guards against garbling.
    private static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }
}
