/// Epoch strings: URL-safe identifiers that change whenever a topic's sequence restarts.
public enum Epoch {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A new random epoch of 16 URL-safe characters (about 95 bits of randomness).
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A new epoch drawn from `generator`, for reproducible tests.
    public static func random(using generator: inout some RandomNumberGenerator) -> String {
        let bytes = (0..<16).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
