import CompressNIO
import HTTPTypes
import NIOCore
import SwitchboardCore
import Testing
@testable import SwitchboardServer

@Suite struct HTTPCompressionTests {
    @Test func negotiationFollowsQValuesAndPrefersZstdOnATie() {
        #expect(HTTPCompression.negotiate(nil) == .identity)
        #expect(HTTPCompression.negotiate("") == .identity)
        #expect(HTTPCompression.negotiate("gzip") == .gzip)
        #expect(HTTPCompression.negotiate("gzip, zstd") == .zstd)
        #expect(HTTPCompression.negotiate("zstd;q=0.5, gzip;q=0.8") == .gzip)
        #expect(HTTPCompression.negotiate("zstd;q=0, gzip;q=0") == .identity)
        #expect(HTTPCompression.negotiate("br, *;q=0.1") == .zstd)
        #expect(HTTPCompression.negotiate("deflate, br") == .identity)
        #expect(HTTPCompression.negotiate("GZIP;Q=1") == .gzip)
        #expect(HTTPCompression.negotiate("*, zstd;q=0") == .gzip)
    }

    func body(_ size: Int) -> ByteBuffer {
        var text = "{\"events\":["
        var i = 0
        while text.utf8.count < size {
            text += "{\"topic\":\"stocks.AAPL\",\"seq\":\(i),\"data\":{\"price\":\(187 + i % 7)}},"
            i += 1
        }
        return ByteBuffer(string: text + "0]}")
    }

    @Test func largeAnswersAreCompressedAndRoundTrip() throws {
        let pool = try CompressorPool(level: 3)
        let original = body(8 * 1024)
        let zstd = HTTPCompression.encode(original, acceptEncoding: "zstd", pool: pool)
        #expect(zstd.coding == .zstd)
        #expect(zstd.body.readableBytes < original.readableBytes / 3)
        #expect(try ZstdDecompressor().decompress(zstd.body) == original)

        var gzip = HTTPCompression.encode(original, acceptEncoding: "gzip", pool: pool)
        #expect(gzip.coding == .gzip)
        #expect(try gzip.body.decompress(with: .gzip()) == original)

        let plain = HTTPCompression.encode(original, acceptEncoding: nil, pool: pool)
        #expect(plain.coding == .identity && plain.body == original)

        let response = HTTPCompression.jsonResponse(original, acceptEncoding: "gzip;q=0.5, zstd", pool: pool)
        #expect(response.headers[.contentEncoding] == "zstd" && response.headers[.vary] == "Accept-Encoding")
    }

    @Test func smallAnswersStayUncompressed() throws {
        let pool = try CompressorPool(level: 3)
        #expect(HTTPCompression.encode(body(200), acceptEncoding: "zstd, gzip", pool: pool).coding == .identity)
        let response = HTTPCompression.jsonResponse(body(200), acceptEncoding: "zstd", pool: pool)
        #expect(response.headers[.contentEncoding] == nil && response.headers[.vary] == "Accept-Encoding")
    }
}
