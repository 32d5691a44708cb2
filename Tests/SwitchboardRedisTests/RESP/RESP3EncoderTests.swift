import NIOCore
import Testing

@testable import SwitchboardRedis

@Suite struct RESP3EncoderTests {
    @Test func commandsAreArraysOfBulkStrings() {
        let bytes = RESP3Encoder.encodeCommand(["SET", "k", RedisArgument(ByteBuffer(bytes: [0, 13, 10])), 42, RedisArgument("é")])
        #expect(String(buffer: bytes) == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\0\r\n\r\n$2\r\n42\r\n$2\r\né\r\n")
    }

    @Test func encodedCommandsDecodeBack() throws {
        var decoder = RESP3Decoder()
        decoder.feed(RESP3Encoder.encodeCommand(["EVALSHA", "abc", 0, "", RedisArgument(-7)]))
        #expect(try decoder.next() == .array([.blob("EVALSHA"), .blob("abc"), .blob("0"), .blob(""), .blob("-7")]))
    }

    @Test func sha1MatchesKnownDigests() {
        #expect(sha1Hex("".utf8) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(sha1Hex("abc".utf8) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(sha1Hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func backoffGrowsToItsCeilingWithFullJitter() {
        let backoff = Backoff(minimum: .milliseconds(100), maximum: .seconds(2))
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 3) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 5) == .seconds(2))
        #expect(backoff.ceiling(attempt: 500) == .seconds(2))
        for attempt in 0..<10 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= .zero && delay <= backoff.ceiling(attempt: attempt))
        }
    }

    @Test func urlsParse() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6379/0")
        #expect(plain.host == "127.0.0.1" && plain.port == 6379 && plain.database == 0 && plain.password == nil)
        let full = try RedisConfiguration(url: "redis://alice:s%40cret@redis.example:7000/3")
        #expect(full.username == "alice" && full.password == "s@cret" && full.host == "redis.example" && full.port == 7000 && full.database == 3)
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@localhost")
        #expect(passwordOnly.username == nil && passwordOnly.password == "pw" && passwordOnly.port == 6379)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6380/")
        #expect(ipv6.host == "::1" && ipv6.port == 6380 && ipv6.database == 0)
    }

    @Test func badURLsAreRefusedWithAReason() {
        for url in [
            "http://localhost", "redis://", "redis://host:0", "redis://host:70000", "redis://host:x",
            "redis://host/db", "redis://host/-1", "redis://user@host", "redis://user:@host",
            "redis://ho st", "redis://host?x=1", "redis://[::1", "redis://:p%zz@host",
        ] {
            #expect(throws: RedisError.invalidURL, "\(url)") { try RedisConfiguration(url: url) }
        }
        do {
            _ = try RedisConfiguration(url: "redis://host:99999")
        } catch {
            #expect(error.description.contains("65535"))
        }
    }
}
