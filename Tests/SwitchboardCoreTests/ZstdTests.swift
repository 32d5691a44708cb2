import NIOCore
import Testing
@testable import SwitchboardCore

@Suite struct ZstdTests {
    func roundTrip(_ buffer: ByteBuffer) throws -> ByteBuffer {
        let compressed = try ZstdCompressor().compress(buffer)
        return try ZstdDecompressor().decompress(compressed)
    }

    @Test func roundTripsEmptySmallLargeAndRandom() throws {
        #expect(try roundTrip(ByteBuffer()) == ByteBuffer())
        #expect(try roundTrip(ByteBuffer(string: "hello")) == ByteBuffer(string: "hello"))
        let large = ByteBuffer(string: String(repeating: "{\"bid\":101.25,\"ask\":101.5}", count: 60_000))
        #expect(large.readableBytes >= 1 << 20)
        #expect(try roundTrip(large) == large)
        var generator = SystemRandomNumberGenerator()
        let random = ByteBuffer(bytes: (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        #expect(try roundTrip(random) == random)
    }

    @Test func corruptInputIsAnErrorWithZstdsMessage() throws {
        var compressed = try ZstdCompressor().compress(ByteBuffer(string: String(repeating: "abc", count: 100)))
        compressed.setInteger(UInt32(0xDEAD_BEEF), at: compressed.readerIndex + 8)
        #expect(throws: ZstdError.self) { try ZstdDecompressor().decompress(compressed) }
        #expect(throws: ZstdError.self) { try ZstdDecompressor().decompress(ByteBuffer(string: "not zstd at all")) }
    }

    @Test func levelsOutsideTheRangeAreRefused() {
        #expect(throws: ZstdError.self) { try ZstdCompressor(level: 99) }
    }
}
