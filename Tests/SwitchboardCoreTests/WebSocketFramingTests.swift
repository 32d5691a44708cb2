import NIOCore
import Testing
@testable import SwitchboardCore

/// Frames of events are framed for WebSocket once, as RFC 6455 lays the header out.
@Suite struct WebSocketFramingTests {
    @Test(arguments: [(0, [0x82, 0]), (125, [0x82, 125]), (126, [0x82, 126, 0, 126]), (65535, [0x82, 126, 0xFF, 0xFF]), (65536, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])])
    func headerCarriesFinBinaryAndLength(length: Int, header: [UInt8]) {
        let payload = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0) })
        let (framed, view) = WebSocketFraming.binaryMessage(payload)
        #expect(Array(framed.readableBytesView.prefix(header.count)) == header)
        #expect(framed.readableBytes == header.count + length)
        #expect(view == payload)
    }

    @Test func anEncodedFrameKeepsItsPayloadsAndTheirFramedForms() {
        let frame = EncodedFrame(topic: "t", firstSeq: 1, lastSeq: 1, plain: ByteBuffer(string: "plain"), compressed: ByteBuffer(string: "z"))
        #expect(frame.bytes(zstd: false) == ByteBuffer(string: "plain"))
        #expect(frame.bytes(zstd: true) == ByteBuffer(string: "z"))
        #expect(Array(frame.webSocketMessage(zstd: false).readableBytesView) == [0x82, 5] + Array("plain".utf8))
        #expect(Array(frame.webSocketMessage(zstd: true).readableBytesView) == [0x82, 1] + Array("z".utf8))
    }
}
