import NIOCore
import Testing

@testable import SwitchboardRedis

@Suite struct RESP3MalformedTests {
    func error(_ text: String, limits: RESP3Decoder.Limits = .init()) -> RESP3DecodingError? {
        var decoder = RESP3Decoder(limits: limits)
        decoder.feed(ByteBuffer(string: text))
        do {
            while try decoder.next() != nil {}
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedInputIsRefused() {
        let cases: [(String, RESP3DecodingError)] = [
            ("?what\r\n", .unknownType(UInt8(ascii: "?"))),
            ("+OK\nrest\r\n", .invalidLine),
            ("+OK\rX", .invalidLine),
            (":12a\r\n", .invalidInteger),
            (":\r\n", .invalidInteger),
            (":-\r\n", .invalidInteger),
            (":9223372036854775808\r\n", .invalidInteger),
            (":99999999999999999999999\r\n", .invalidInteger),
            (",abc\r\n", .invalidDouble),
            (",0x1p3\r\n", .invalidDouble),
            (",\r\n", .invalidDouble),
            ("#x\r\n", .invalidBoolean),
            ("#tt\r\n", .invalidBoolean),
            ("_x\r\n", .invalidLine),
            ("$x\r\n", .invalidLength),
            ("$-2\r\n", .invalidLength),
            ("!-1\r\n", .invalidLength),
            ("*-2\r\n", .invalidLength),
            ("%-1\r\n", .invalidLength),
            ("$3\r\nabcd\r\n", .missingTerminator),
            ("=3\r\ntxt\r\n", .invalidVerbatim),
            ("=5\r\ntxt_x\r\n", .invalidVerbatim),
            ("(12x\r\n", .invalidBigNumber),
            ("(\r\n", .invalidBigNumber),
            ("$?\r\n", .unsupportedStreamed),
            ("*?\r\n", .unsupportedStreamed),
        ]
        for (text, expected) in cases {
            #expect(error(text) == expected, "\(text.debugDescription)")
        }
    }

    @Test func limitsHold() {
        let limits = RESP3Decoder.Limits(maxDepth: 3, maxBulkLength: 10, maxAggregateCount: 4, maxLineLength: 8)
        #expect(error("*1\r\n*1\r\n*1\r\n:1\r\n", limits: limits) == nil)
        #expect(error("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", limits: limits) == .tooDeep)
        #expect(error("$11\r\n", limits: limits) == .bulkTooLong)
        #expect(error("$10\r\n0123456789\r\n", limits: limits) == nil)
        #expect(error("*5\r\n", limits: limits) == .aggregateTooLarge)
        #expect(error("%3\r\n", limits: limits) == .aggregateTooLarge)
        #expect(error("+123456789", limits: limits) == .lineTooLong)
        #expect(error("+12345678", limits: limits) == nil)  // may still end in CRLF
        #expect(error("$9223372036854775807\r\n") == .bulkTooLong)
        #expect(error("*9223372036854775807\r\n") == .aggregateTooLarge)
        #expect(error(String(repeating: "*1\r\n", count: 100_000)) == .tooDeep)
    }

    @Test func aFailedDecoderStaysFailed() throws {
        var decoder = RESP3Decoder()
        decoder.feed(ByteBuffer(string: "+OK\r\n?\r\n+OK\r\n"))
        #expect(try decoder.next() == .simple("OK"))
        #expect(throws: RESP3DecodingError.unknownType(UInt8(ascii: "?"))) { try decoder.next() }
        #expect(throws: RESP3DecodingError.unknownType(UInt8(ascii: "?"))) { try decoder.next() }
    }
}
