/// Validation of topic names as the contract defines them.
///
/// A name is 1 to 128 characters: segments of `A-Z a-z 0-9 _ -` joined by single dots.
public enum TopicName {
    /// The longest name allowed, in characters.
    public static let maxLength = 128

    /// Whether `name` is a valid topic name.
    public static func isValid(_ name: some StringProtocol) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        var previousWasDot = true  // a leading dot is invalid
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "."):
                if previousWasDot { return false }
                previousWasDot = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                previousWasDot = false
            default:
                return false
            }
        }
        return !previousWasDot  // a trailing dot is invalid
    }

    /// Whether `key` is a valid idempotency key: 1 to 128 URL-safe characters.
    public static func isValidIdempotencyKey(_ key: some StringProtocol) -> Bool {
        let utf8 = key.utf8
        guard !utf8.isEmpty, utf8.count <= 128 else { return false }
        return utf8.allSatisfy(isURLSafe)
    }

    /// Whether `byte` is one of RFC 3986's unreserved characters.
    public static func isURLSafe(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
