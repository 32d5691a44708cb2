public import NIOCore

extension RESP3Value {
    /// Creates a blob string from text.
    public static func blob(_ string: String) -> RESP3Value {
        .blobString(ByteBuffer(string: string))
    }

    /// Creates a simple string from text.
    public static func simple(_ string: String) -> RESP3Value {
        .simpleString(ByteBuffer(string: string))
    }

    /// The value without any attributes attached to it.
    public var withoutAttributes: RESP3Value {
        if case .attributed(_, let value) = self { return value.withoutAttributes }
        return self
    }

    /// The text of a simple, blob or verbatim string, a big number, or an integer or double written out; nil otherwise.
    public var string: String? {
        switch self.withoutAttributes {
        case .simpleString(let b), .blobString(let b), .verbatimString(_, let b): String(buffer: b)
        case .bigNumber(let digits): digits
        case .integer(let i): String(i)
        case .double(let d): String(d)
        default: nil
        }
    }

    /// The bytes of a simple, blob or verbatim string; nil otherwise.
    public var bytes: ByteBuffer? {
        switch self.withoutAttributes {
        case .simpleString(let b), .blobString(let b), .verbatimString(_, let b): b
        default: nil
        }
    }

    /// An integer, or a string holding one (as RESP2 servers send some numbers); nil otherwise.
    public var int: Int64? {
        switch self.withoutAttributes {
        case .integer(let i): i
        case .simpleString(let b), .blobString(let b): Int64(String(buffer: b))
        default: nil
        }
    }

    /// A double, an integer, or a string holding a number; nil otherwise.
    public var double: Double? {
        switch self.withoutAttributes {
        case .double(let d): d
        case .integer(let i): Double(i)
        case .simpleString(let b), .blobString(let b): Double(String(buffer: b))
        default: nil
        }
    }

    /// A boolean, or RESP2's integer 0 or 1; nil otherwise.
    public var bool: Bool? {
        switch self.withoutAttributes {
        case .boolean(let b): b
        case .integer(0): false
        case .integer(1): true
        default: nil
        }
    }

    /// The elements of an array, set or push; nil otherwise.
    public var array: [RESP3Value]? {
        switch self.withoutAttributes {
        case .array(let a), .set(let a), .push(let a): a
        default: nil
        }
    }

    /// The pairs of a map, or of a RESP2 array of alternating keys and values; nil otherwise.
    public var mapEntries: [RESP3MapEntry]? {
        switch self.withoutAttributes {
        case .map(let entries): return entries
        case .array(let a) where a.count % 2 == 0:
            return stride(from: 0, to: a.count, by: 2).map { RESP3MapEntry(key: a[$0], value: a[$0 + 1]) }
        default: return nil
        }
    }

    /// The value of a map's entry whose key is the given text; nil if absent or not a map.
    public subscript(key: String) -> RESP3Value? {
        self.mapEntries?.first { $0.key.string == key }?.value
    }

    /// True for `null`.
    public var isNull: Bool { self.withoutAttributes == .null }

    /// The message of a simple or blob error; nil otherwise.
    public var errorMessage: String? {
        switch self.withoutAttributes {
        case .simpleError(let b), .blobError(let b): String(buffer: b)
        default: nil
        }
    }
}
