import NIOCore
import Testing

@testable import SwitchboardRedis

/// Decodes all of `text` fed at once; fails the test if anything is left over.
func decodeAll(_ text: String, attributes: RESP3Decoder.AttributeHandling = .skip) throws -> [RESP3Value] {
    var decoder = RESP3Decoder(attributes: attributes)
    decoder.feed(ByteBuffer(string: text))
    var values: [RESP3Value] = []
    while let value = try decoder.next() { values.append(value) }
    #expect(decoder.bufferedBytes == 0)
    return values
}

func decodeOne(_ text: String, attributes: RESP3Decoder.AttributeHandling = .skip) throws -> RESP3Value? {
    let values = try decodeAll(text, attributes: attributes)
    #expect(values.count == 1)
    return values.first
}

func b(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// Every RESP3 type, with the value it decodes to.
let everyType: [(String, RESP3Value)] = [
    ("+OK\r\n", .simpleString(b("OK"))),
    ("-ERR unknown command\r\n", .simpleError(b("ERR unknown command"))),
    (":1000\r\n", .integer(1000)),
    (":-42\r\n", .integer(-42)),
    (":9223372036854775807\r\n", .integer(.max)),
    (":-9223372036854775808\r\n", .integer(.min)),
    ("$5\r\nhello\r\n", .blobString(b("hello"))),
    ("$0\r\n\r\n", .blobString(b(""))),
    ("$4\r\na\r\nb\r\n", .blobString(b("a\r\nb"))),
    ("_\r\n", .null),
    ("$-1\r\n", .null),
    ("*-1\r\n", .null),
    (",3.25\r\n", .double(3.25)),
    (",-1e3\r\n", .double(-1000)),
    (",inf\r\n", .double(.infinity)),
    (",-inf\r\n", .double(-.infinity)),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    ("!21\r\nSYNTAX invalid syntax\r\n", .blobError(b("SYNTAX invalid syntax"))),
    ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", b("Some string"))),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("*3\r\n:1\r\n$1\r\nx\r\n_\r\n", .array([.integer(1), .blob("x"), .null])),
    ("*0\r\n", .array([])),
    ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([.init(key: .simple("first"), value: .integer(1)), .init(key: .simple("second"), value: .integer(2))])),
    ("%0\r\n", .map([])),
    ("~2\r\n+a\r\n+b\r\n", .set([.simple("a"), .simple("b")])),
    (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhey\r\n", .push([.blob("message"), .blob("ch"), .blob("hey")])),
    ("*2\r\n*1\r\n%1\r\n:1\r\n~1\r\n#t\r\n:9\r\n", .array([.array([.map([.init(key: .integer(1), value: .set([.boolean(true)]))])]), .integer(9)])),
]

@Suite struct RESP3DecoderTests {
    @Test func everyTypeDecodes() throws {
        for (text, expected) in everyType {
            #expect(try decodeOne(text) == expected, "\(text.debugDescription)")
        }
    }

    @Test func nanDecodes() throws {
        let value = try decodeOne(",nan\r\n")
        guard case .double(let d) = value else {
            Issue.record("not a double: \(String(describing: value))")
            return
        }
        #expect(d.isNaN)
    }

    @Test func resp2RepliesDecode() throws {
        let text = "+OK\r\n-WRONGTYPE no\r\n:3\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n$-1\r\n"
        #expect(try decodeAll(text) == [.simple("OK"), .simpleError(b("WRONGTYPE no")), .integer(3), .null, .null, .array([.blob("a"), .null])])
    }

    @Test func attributesAreSkippedByDefault() throws {
        let text = "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n"
        #expect(try decodeOne(text) == .array([.integer(2_039_123), .integer(9_543_892)]))
    }

    @Test func attributesAttach() throws {
        let attrs: [RESP3MapEntry] = [.init(key: .simple("ttl"), value: .integer(3))]
        #expect(try decodeOne("|1\r\n+ttl\r\n:3\r\n:7\r\n", attributes: .attach) == .attributed(attributes: attrs, value: .integer(7)))
        // Inside an aggregate, the attribute goes with the next element only.
        let nested = try decodeOne("*2\r\n|1\r\n+ttl\r\n:3\r\n:7\r\n:8\r\n", attributes: .attach)
        #expect(nested == .array([.attributed(attributes: attrs, value: .integer(7)), .integer(8)]))
        #expect(nested?.array?[0].int == 7)
        #expect(try decodeOne("|0\r\n:1\r\n", attributes: .attach) == .attributed(attributes: [], value: .integer(1)))
    }

    @Test func valuesInARowComeOutInOrder() throws {
        let all = everyType.map(\.0).joined()
        #expect(try decodeAll(all) == everyType.map(\.1))
    }

    @Test func splitAtEveryByte() throws {
        for (text, expected) in everyType {
            let bytes = Array(text.utf8)
            for cut in 0...bytes.count {
                var decoder = RESP3Decoder()
                decoder.feed(bytes[..<cut])
                var got = try decoder.next()
                if cut < bytes.count {
                    #expect(got == nil, "\(text.debugDescription) cut at \(cut)")
                    decoder.feed(bytes[cut...])
                    got = try decoder.next()
                }
                #expect(got == expected, "\(text.debugDescription) cut at \(cut)")
                #expect(try decoder.next() == nil)
            }
        }
    }

    @Test func oneByteAtATime() throws {
        let bytes = Array(everyType.map(\.0).joined().utf8)
        var decoder = RESP3Decoder()
        var values: [RESP3Value] = []
        for byte in bytes {
            decoder.feed([byte])
            while let value = try decoder.next() { values.append(value) }
        }
        #expect(values == everyType.map(\.1))
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func accessors() throws {
        let hello = try #require(try decodeOne("%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n"))
        #expect(hello["server"]?.string == "redis")
        #expect(hello["proto"]?.int == 3)
        #expect(hello["modules"]?.array == [])
        #expect(hello["missing"] == nil)
        #expect(RESP3Value.blob("12").int == 12)
        #expect(RESP3Value.integer(1).bool == true)
        #expect(RESP3Value.simpleError(b("ERR x")).errorMessage == "ERR x")
        #expect(RESP3Value.array([.blob("k"), .integer(1)]).mapEntries?.first?.value == .integer(1))
    }
}
