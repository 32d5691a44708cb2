public import NIOCore

/// One argument of a Redis command: text, bytes or a number, sent as a bulk string.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)
    }

    let storage: Storage

    /// An argument from text.
    public init(_ string: String) { self.storage = .string(string) }
    /// An argument from bytes, sent as they are.
    public init(_ bytes: ByteBuffer) { self.storage = .bytes(bytes) }
    /// An argument from an integer, written in decimal.
    public init(_ integer: some BinaryInteger) { self.storage = .integer(Int64(integer)) }
    /// An argument from a string literal.
    public init(stringLiteral value: String) { self.storage = .string(value) }
    /// An argument from an integer literal.
    public init(integerLiteral value: Int64) { self.storage = .integer(value) }
}

/// Writes commands the way Redis reads them: an array of bulk strings.
public enum RESP3Encoder {
    /// Appends one command to `buffer`.
    public static func encodeCommand(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            switch argument.storage {
            case .string(let s):
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(s.utf8.count, into: &buffer)
                buffer.writeString(s)
            case .bytes(let b):
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(b.readableBytes, into: &buffer)
                buffer.writeImmutableBuffer(b)
            case .integer(let i):
                let s = String(i)
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(s.utf8.count, into: &buffer)
                buffer.writeString(s)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// One command as a new buffer.
    public static func encodeCommand(_ arguments: [RedisArgument]) -> ByteBuffer {
        var buffer = ByteBuffer()
        encodeCommand(arguments, into: &buffer)
        return buffer
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }
}
