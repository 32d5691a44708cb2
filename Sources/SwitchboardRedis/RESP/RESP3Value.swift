public import NIOCore

/// One value of the Redis serialization protocol, version 3 (RESP2 replies map onto a subset).
public enum RESP3Value: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(ByteBuffer)
    /// `-ERR …`: an error line.
    case simpleError(ByteBuffer)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5\r\nhello`: binary-safe bytes.
    case blobString(ByteBuffer)
    /// `_`, or RESP2's `$-1` and `*-1`: no value.
    case null
    /// `,3.14`: a double, `inf`, `-inf` or `nan` included.
    case double(Double)
    /// `#t` or `#f`.
    case boolean(Bool)
    /// `!21\r\nSYNTAX invalid syntax`: a binary-safe error.
    case blobError(ByteBuffer)
    /// `=15\r\ntxt:Some string`: a string with a three-letter format (`txt`, `mkd`).
    case verbatimString(format: String, ByteBuffer)
    /// `(3492890328409238509324850943850943825024385`: an integer of any size, as its decimal digits.
    case bigNumber(String)
    /// `*2 …`: an ordered list.
    case array([RESP3Value])
    /// `%2 …`: key/value pairs in the order received.
    case map([RESP3MapEntry])
    /// `~2 …`: an unordered collection, in the order received.
    case set([RESP3Value])
    /// `>3 …`: an out-of-band message (pub/sub deliveries, invalidations).
    case push([RESP3Value])
    /// A value preceded by a `|` attribute map, kept when the decoder is told to attach attributes.
    indirect case attributed(attributes: [RESP3MapEntry], value: RESP3Value)
}

/// One key/value pair of a RESP3 map or attribute.
public struct RESP3MapEntry: Sendable, Hashable {
    /// The key.
    public var key: RESP3Value
    /// The value.
    public var value: RESP3Value

    /// Creates a pair.
    public init(key: RESP3Value, value: RESP3Value) {
        self.key = key
        self.value = value
    }
}
