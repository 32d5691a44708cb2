/// The fields a fan-out payload opens with: `{"p":<publisher>,"n":<number>,"ts":<µs>,`.
///
/// Subscribers read them straight from the received bytes, without allocating, to check
/// that each publisher's events arrive once and in order and to measure latency.
struct PayloadStamp: Equatable {
    /// Which publisher connection sent the event (0-based).
    var publisher: Int
    /// That publisher's sequence number for it, from 1.
    var number: Int
    /// When it was sent, µs since the Unix epoch.
    var sentAt: Int64

    /// Parses the stamp at the start of `bytes`, or nil when the payload does not open with one.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> PayloadStamp? {
        var index = 0
        guard expect(#"{"p":"#, in: bytes, at: &index), let publisher = digits(bytes, &index),
            expect(#","n":"#, in: bytes, at: &index), let number = digits(bytes, &index),
            expect(#","ts":"#, in: bytes, at: &index), let sentAt = digits(bytes, &index)
        else { return nil }
        return PayloadStamp(publisher: Int(publisher), number: Int(number), sentAt: sentAt)
    }

    /// Finds `"ts":<digits>` anywhere in the first 512 bytes (payloads of other generators).
    static func sentAt(in bytes: UnsafeRawBufferPointer) -> Int64? {
        let key: [UInt8] = Array(#""ts":"#.utf8)
        let end = min(bytes.count, 512) - key.count
        guard end >= 0 else { return nil }
        for start in 0...end where bytes[start] == key[0] {
            var index = start
            if expect(key, in: bytes, at: &index) { return digits(bytes, &index) }
        }
        return nil
    }

    private static func expect(_ literal: StaticString, in bytes: UnsafeRawBufferPointer, at index: inout Int) -> Bool {
        literal.withUTF8Buffer { expect($0, in: bytes, at: &index) }
    }

    private static func expect(_ literal: some Collection<UInt8>, in bytes: UnsafeRawBufferPointer, at index: inout Int) -> Bool {
        guard bytes.count - index >= literal.count else { return false }
        var position = index
        for byte in literal {
            guard bytes[position] == byte else { return false }
            position += 1
        }
        index = position
        return true
    }

    private static func digits(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Int64? {
        var value: Int64 = 0
        let start = index
        while index < bytes.count, index - start < 19 {
            let byte = bytes[index]
            guard byte >= 0x30, byte <= 0x39 else { break }
            value = value * 10 + Int64(byte - 0x30)
            index += 1
        }
        return index > start ? value : nil
    }
}
