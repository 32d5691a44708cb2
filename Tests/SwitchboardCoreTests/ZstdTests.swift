import Foundation
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

/// Our frames checked against an independent decoder and encoder: Debian's `zstd` command.
@Suite struct ZstdCommandLineTests {
    static let zstdPath = ["/usr/bin/zstd", "/bin/zstd", "/usr/local/bin/zstd"].first { FileManager.default.isExecutableFile(atPath: $0) }

    func run(_ arguments: [String], input: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.zstdPath, "install Debian's zstd (scripts/deps.sh does)"))
        process.arguments = arguments + [input]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return data
    }

    @Test func theZstdToolDecodesOurFrameBodies() throws {
        let tick = ByteBuffer(string: #"{"symbol":"MSFT","bid":411.02,"ask":411.05,"volume":1200,"ts":1763771234567890}"#)
        let events = (1...40).map { Event(seq: UInt64($0), ts: Int64($0), payload: tick, contentType: "") }
        let plain = EventFrame.encode(topic: "stocks.MSFT", events: events)
        let compressed = try #require(try EventFrame.compress(plain, with: ZstdCompressor()))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("frame-\(UUID()).zst").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(compressed.getBytes(at: compressed.readerIndex + 1, length: compressed.readableBytes - 1)!).write(to: URL(fileURLWithPath: path))
        let decoded = try run(["-d", "-c", "-q"], input: path)
        #expect(Array(decoded) == plain.getBytes(at: plain.readerIndex + 1, length: plain.readableBytes - 1))
    }

    @Test func weDecodeWhatTheZstdToolEncodes() throws {
        let text = String(repeating: "price=187.12 volume=1200\n", count: 500)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let compressed = try run(["-c", "-q", "-19"], input: path)
        let decoded = try ZstdDecompressor().decompress(ByteBuffer(bytes: compressed))
        #expect(String(buffer: decoded) == text)
    }
}

@Suite struct ZstdContextReuseTests {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func tenThousandCompressionsDoNotGrowMemory() throws {
        let pool = try CompressorPool(level: 3)
        let payload = ByteBuffer(string: String(repeating: #"{"symbol":"AAPL","price":187.12},"#, count: 64))
        let frame = EventFrame.encode(topic: "t", events: [Event(seq: 1, ts: 1, payload: payload, contentType: "")])
        for _ in 0..<100 { _ = pool.compressFrame(frame) }  // warm up: the context's tables are allocated once
        let before = Self.residentBytes()
        var total = 0
        for _ in 0..<10_000 { total += pool.compressFrame(frame)?.readableBytes ?? 0 }
        let grown = Self.residentBytes() - before
        #expect(total > 0)
        // A context allocated per message (and leaked) would cost about 1 MiB each: gigabytes here.
        // The bound leaves room for the other suites running in the same process meanwhile.
        #expect(grown < 64 * 1024 * 1024, "resident memory grew by \(grown) bytes")
    }
}
