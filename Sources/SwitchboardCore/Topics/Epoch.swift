/// Epoch strings: URL-safe identifiers that change whenever a topic's sequence restarts.
public enum Epoch {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A new random epoch of 16 URL-safe characters (about 95 bits of randomness).
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A new epoch drawn from `generator`, for reproducible tests.
    ///
    /// Two words of 64 bits are read and written in base 62, 16 digits: `SystemRandomNumberGenerator`
    /// makes one `getrandom` system call per word, and drawing each character on its own took
    /// about 16, most of the cost of creating a topic (issue 13, item 9). The 16 digits use
    /// 95.3 of the 128 bits; the bias that leaves is below one part in 10⁹.
    public static func random(using generator: inout some RandomNumberGenerator) -> String {
        var (high, low) = (generator.next(), generator.next())
        var bytes = [UInt8](repeating: 0, count: 16)
        let base = UInt64(alphabet.count)
        for index in bytes.indices {
            // (high, low) /= 62, keeping the remainder.
            let (quotientHigh, remainderHigh) = high.quotientAndRemainder(dividingBy: base)
            let (quotientLow, remainder) = base.dividingFullWidth((remainderHigh, low))
            (high, low) = (quotientHigh, quotientLow)
            bytes[index] = alphabet[Int(remainder)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
