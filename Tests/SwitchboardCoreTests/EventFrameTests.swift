import NIOCore
import Testing
@testable import SwitchboardCore

@Suite struct EventFrameTests {
    @Test func encodesTheContractLayoutByteForByte() throws {
        let events = [
            Event(seq: 41, ts: 0x0102_0304_0506_0708, payload: ByteBuffer(string: "hi"), contentType: "x"),
            Event(seq: 42, ts: -1, payload: ByteBuffer(), contentType: "x"),
        ]
        let frame = EventFrame.encode(topic: "a.b", events: events)
        let expected: [UInt8] = [
            0x00,  // flags
            0x00, 0x03, 0x61, 0x2E, 0x62,  // topic length, "a.b"
            0, 0, 0, 0, 0, 0, 0, 41,  // first seq
            0, 0, 0, 2,  // count
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0, 0, 0, 2, 0x68, 0x69,  // ts, length, "hi"
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,  // ts -1, empty payload
        ]
        #expect(Array(frame.readableBytesView) == expected)
        #expect(frame.readableBytes == EventFrame.encodedSize(topic: "a.b", events: events))
        let decoded = try EventFrame.decode(frame, decompressor: ZstdDecompressor())
        #expect(decoded.topic == "a.b" && !decoded.compressed)
        #expect(decoded.events.map(\.seq) == [41, 42])
        #expect(decoded.events.map(\.ts) == [0x0102_0304_0506_0708, -1])
        #expect(decoded.events[0].payload == ByteBuffer(string: "hi"))
    }

    @Test func compressedFramesSetBitZeroAndRoundTrip() throws {
        let json = ByteBuffer(string: String(repeating: "{\"symbol\":\"AAPL\",\"price\":187.12},", count: 20))
        let events = (1...5).map { Event(seq: UInt64($0), ts: Int64($0), payload: json, contentType: "") }
        let plain = EventFrame.encode(topic: "stocks.AAPL", events: events)
        let compressed = try #require(try EventFrame.compress(plain, with: ZstdCompressor()))
        #expect(compressed.getInteger(at: 0, as: UInt8.self) == EventFrame.compressedFlag)
        #expect(compressed.readableBytes < plain.readableBytes / 4)
        let decoded = try EventFrame.decode(compressed, decompressor: ZstdDecompressor())
        #expect(decoded.compressed)
        #expect(decoded.events.map(\.payload) == events.map(\.payload))
    }

    @Test func smallOrIncompressibleFramesStayPlain() throws {
        let small = EventFrame.encode(topic: "t", events: [Event(seq: 1, ts: 1, payload: ByteBuffer(string: "x"), contentType: "")])
        #expect(try EventFrame.compress(small, with: ZstdCompressor()) == nil)
        var generator = SystemRandomNumberGenerator()
        let noise = ByteBuffer(bytes: (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let random = EventFrame.encode(topic: "t", events: [Event(seq: 1, ts: 1, payload: noise, contentType: "")])
        #expect(try EventFrame.compress(random, with: ZstdCompressor()) == nil)
    }

    @Test func truncatedFramesAreErrors() {
        let frame = EventFrame.encode(topic: "t", events: [Event(seq: 1, ts: 1, payload: ByteBuffer(string: "abc"), contentType: "")])
        let cut = frame.getSlice(at: 0, length: frame.readableBytes - 1)!
        #expect(throws: FrameError.truncated) { try EventFrame.decode(cut, decompressor: ZstdDecompressor()) }
    }

    @Test func controlMessagesAreTheContractJSON() {
        #expect(ControlMessage.subscribed(topic: "a", epoch: "E", seq: 7, reset: false, id: .number("1")).json == #"{"type":"subscribed","topic":"a","epoch":"E","seq":7,"reset":false,"id":1}"#)
        #expect(ControlMessage.gap(Gap(topic: "a", from: 42, to: 57)).json == #"{"type":"gap","topic":"a","from":42,"to":57}"#)
        #expect(ControlMessage.error(code: "x", message: "say \"hi\"\n", id: .string("q")).json == #"{"type":"error","code":"x","message":"say \"hi\"\n","id":"q"}"#)
        #expect(ControlMessage.unsubscribed(topic: "a", id: nil).json == #"{"type":"unsubscribed","topic":"a"}"#)
        #expect(ControlMessage.deleted(topic: "a").json == #"{"type":"deleted","topic":"a"}"#)
    }
}
