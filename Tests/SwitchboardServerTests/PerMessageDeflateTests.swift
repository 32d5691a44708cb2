import Foundation
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// permessage-deflate (RFC 7692, contract v1.1 "Compression that browsers decode"): the
/// negotiation as a pure function, the single-message deflate and bounded inflate, and on real
/// sockets what a deflate connection receives and may send.
@Suite struct PerMessageDeflateTests {
    private static let answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    private func negotiate(_ values: [String], zstd: Bool = false) -> String? {
        PerMessageDeflate.negotiate(values, zstd: zstd)?.response
    }

    // MARK: Negotiation

    @Test func anOfferIsAcceptedWithBothNoContextTakeoverParameters() {
        #expect(negotiate(["permessage-deflate"]) == Self.answer)
        // What Chromium and Python's websockets offer.
        #expect(negotiate(["permessage-deflate; client_max_window_bits"]) == Self.answer)
        #expect(negotiate(["permessage-deflate; client_max_window_bits=10; server_no_context_takeover; client_no_context_takeover"]) == Self.answer)
        #expect(negotiate(["Permessage-Deflate ;client_no_context_takeover"]) == Self.answer)
        // A server window of 15 is the broker's own: accepted, and answered back (RFC 7692 §7.1.2.1).
        #expect(negotiate(["permessage-deflate; server_max_window_bits=15"]) == Self.answer + "; server_max_window_bits=15")
        #expect(negotiate(["permessage-deflate; server_max_window_bits=\"15\""]) == Self.answer + "; server_max_window_bits=15")
        // Other extensions around it, in one header or several.
        #expect(negotiate(["x-webkit-deflate-frame", "permessage-deflate; client_max_window_bits"]) == Self.answer)
        #expect(negotiate(["foo; bar=1, permessage-deflate"]) == Self.answer)
    }

    @Test func noOfferAndZstdConnectionsGetNoExtension() {
        #expect(negotiate([]) == nil)
        #expect(negotiate(["x-webkit-deflate-frame"]) == nil)
        #expect(negotiate(["permessage-deflate"], zstd: true) == nil)
        #expect(negotiate(["permessage-deflate; client_max_window_bits"], zstd: true) == nil)
    }

    @Test func offersThatCannotBeHonouredAreDeclinedAndTheNextIsTaken() {
        for offer in [
            "permessage-deflate; server_max_window_bits=10",  // one shared copy per batch: window 15 only
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits",  // needs a value
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; mystery_parameter",
        ] {
            #expect(negotiate([offer]) == nil, "\(offer)")
        }
        #expect(negotiate(["permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits"]) == Self.answer)
        #expect(negotiate(["permessage-deflate; server_max_window_bits=9", "permessage-deflate"]) == Self.answer)
    }

    // MARK: One message

    @Test func deflateDropsTheSyncFlushTailAndInflateReadsItBack() throws {
        let payload = ByteBuffer(string: String(repeating: #"{"symbol":"ACME","price":101.25,"size":300}"#, count: 20))
        let deflated = try #require(PerMessageDeflate.deflate(payload))
        #expect(deflated.readableBytes < payload.readableBytes)
        #expect(!deflated.readableBytesView.suffix(4).elementsEqual([0, 0, 0xFF, 0xFF]))
        #expect(PerMessageDeflate.inflate(deflated, limit: payload.readableBytes) == .message(payload))
        // Each message stands alone: deflating again gives the same bytes.
        #expect(PerMessageDeflate.deflate(payload) == deflated)
    }

    @Test func inflateStopsAtTheLimitAndRefusesBadData() throws {
        let bomb = try #require(PerMessageDeflate.deflate(ByteBuffer(repeating: 0x61, count: 4 * 1_048_576)))
        #expect(bomb.readableBytes < 10_000)
        #expect(PerMessageDeflate.inflate(bomb, limit: 65_536) == .tooBig)
        let exact = try #require(PerMessageDeflate.deflate(ByteBuffer(repeating: 0x61, count: 65_536)))
        #expect(PerMessageDeflate.inflate(exact, limit: 65_536) == .message(ByteBuffer(repeating: 0x61, count: 65_536)))
        #expect(PerMessageDeflate.inflate(exact, limit: 65_535) == .tooBig)
        #expect(PerMessageDeflate.inflate(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x00]), limit: 65_536) == .invalid)
    }

    @Test func aFrameIsDeflatedOnceAndOnlyWhenThatPays() throws {
        let big = ByteBuffer(string: String(repeating: "abcdefgh", count: 40))
        let frame = EncodedFrame(topic: "t", firstSeq: 1, lastSeq: 1, plain: big, compressed: nil)
        let calls = Counter()
        let first = try #require(frame.webSocketDeflated { calls.increment(); return PerMessageDeflate.deflate($0) })
        #expect(first.getInteger(at: first.readerIndex, as: UInt8.self) == 0xC2, "FIN, RSV1, binary")
        let copy = frame  // subscribers hold copies of the frame
        #expect(copy.webSocketDeflated { calls.increment(); return PerMessageDeflate.deflate($0) } == first)
        #expect(calls.value == 1)
        // Under 64 bytes: never, not even asked.
        let small = EncodedFrame(topic: "t", firstSeq: 1, lastSeq: 1, plain: ByteBuffer(string: String(repeating: "a", count: 63)), compressed: nil)
        #expect(small.webSocketDeflated { calls.increment(); return PerMessageDeflate.deflate($0) } == nil)
        #expect(calls.value == 1)
        // Not smaller: sent plain.
        var generator = SystemRandomNumberGenerator()
        let noise = ByteBuffer(bytes: (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let incompressible = EncodedFrame(topic: "t", firstSeq: 1, lastSeq: 1, plain: noise, compressed: nil)
        #expect(incompressible.webSocketDeflated(PerMessageDeflate.deflate) == nil)
    }

    // MARK: On the wire

    /// The last frame's payload as text ("" when there is none).
    private static func lastText(_ frames: [RawWebSocket.Frame]) -> String {
        String(decoding: frames.last?.payload ?? [], as: UTF8.self)
    }

    /// A payload well over 64 bytes that deflates well.
    private static let tick = #"{"symbol":"ACME","bid":101.25,"ask":101.27,"volume":120000,"venue":"XNAS","note":"tick tick tick tick"}"#

    @Test func bothUpgradePathsAnswerTheOfferAndDeclineItOnZstd() async throws {
        try await withBroker { broker in
            let offer = "permessage-deflate; client_max_window_bits"
            let fast = try RawWebSocket(port: broker.port, extensions: offer, protocols: "switchboard.v1")
            #expect(fast.responseHead.hasPrefix("HTTP/1.1 101"))
            #expect(fast.responseHeader("Sec-WebSocket-Extensions") == Self.answer)
            // A head over 8 KiB goes NIO's upgrader's way: the same answer.
            let padding = "X-Padding: \(String(repeating: "p", count: 9000))\r\n"
            let full = try RawWebSocket(port: broker.port, extensions: offer, protocols: "switchboard.v1", extra: padding)
            #expect(full.responseHead.hasPrefix("HTTP/1.1 101"))
            #expect(full.responseHeader("Sec-WebSocket-Extensions") == Self.answer)
            for extra in ["", padding] {
                let zstd = try RawWebSocket(port: broker.port, extensions: offer, protocols: "switchboard.v1.zstd", extra: extra)
                #expect(zstd.responseHead.hasPrefix("HTTP/1.1 101"))
                #expect(zstd.responseHeader("Sec-WebSocket-Extensions") == nil, "declined on zstd")
                let query = try RawWebSocket(port: broker.port, target: "/v1/ws?compression=zstd", extensions: offer, extra: extra)
                #expect(query.responseHeader("Sec-WebSocket-Extensions") == nil, "declined on ?compression=zstd")
                let none = try RawWebSocket(port: broker.port, extensions: nil, extra: extra)
                #expect(none.responseHeader("Sec-WebSocket-Extensions") == nil)
                for socket in [zstd, query, none] { socket.close() }
            }
            fast.close()
            full.close()
        }
    }

    @Test func aDeflateSubscriberGetsRSV1FramesThatInflateToThePlainFrame() async throws {
        try await withBroker { broker in
            let deflate = try RawWebSocket(port: broker.port, target: "/v1/ws?topics=t", extensions: "permessage-deflate")
            let plain = try RawWebSocket(port: broker.port, target: "/v1/ws?topics=t", extensions: nil)
            for socket in [deflate, plain] {
                let subscribed = await socket.frames { $0.opcode == 1 }
                #expect(Self.lastText(subscribed).contains("subscribed"))
            }
            try await broker.http { http in
                try await broker.publish("t", Self.tick, client: http)
                try await broker.publish("t", "1", client: http)  // a frame under 64 bytes: sent plain
            }
            let plainFrames = await plain.frames { _ in true } + plain.frames { _ in true }
            let deflateFrames = await deflate.frames { _ in true } + deflate.frames { _ in true }
            try #require(plainFrames.count == 2 && deflateFrames.count == 2)
            #expect(plainFrames.allSatisfy { $0.opcode == 2 && !$0.rsv1 })
            let compressed = deflateFrames[0]
            #expect(compressed.opcode == 2 && compressed.fin && compressed.rsv1, "RSV1 set on the wire")
            #expect(compressed.payload.count < plainFrames[0].payload.count)
            let inflated = PerMessageDeflate.inflate(ByteBuffer(bytes: compressed.payload), limit: 1 << 20)
            #expect(inflated == .message(ByteBuffer(bytes: plainFrames[0].payload)), "the contract's binary frame, byte for byte")
            #expect(deflateFrames[1] == plainFrames[1], "a payload under 64 bytes goes out plain")
            deflate.close()
            plain.close()
        }
    }

    @Test func aCompressedSubscribeIsUnderstood() async throws {
        try await withBroker { broker in
            let socket = try RawWebSocket(port: broker.port, extensions: "permessage-deflate; client_max_window_bits")
            let request = ByteBuffer(string: #"{"op":"subscribe","topic":"t","id":"s1"}"#)
            let compressed = try #require(PerMessageDeflate.deflate(request))
            // As browsers send it: one frame, RSV1 set; then the same split in two frames.
            try socket.send(opcode: 1, Array(compressed.readableBytesView), rsv1: true)
            let first = await socket.frames { $0.opcode == 1 }
            #expect(Self.lastText(first).contains("subscribed"))
            let second = try #require(PerMessageDeflate.deflate(ByteBuffer(string: #"{"op":"subscribe","topic":"u","id":"s2"}"#)))
            let bytes = Array(second.readableBytesView)
            try socket.send(opcode: 1, Array(bytes[..<5]), rsv1: true, fin: false)
            try socket.send(opcode: 0, Array(bytes[5...]))
            let next = await socket.frames { $0.opcode == 1 }
            let text = Self.lastText(next)
            #expect(text.contains("subscribed") && text.contains("s2"), "\(text)")
            try await broker.http { http in try await broker.publish("t", Self.tick, client: http) }
            let event = await socket.frames { $0.opcode == 2 }
            #expect(event.last?.rsv1 == true)
            socket.close()
        }
    }

    @Test func aCompressedMessageInflatingPastTheLimitClosesWith1009() async throws {
        try await withBroker(BrokerConfiguration(maxClientFrameBytes: 1024)) { broker in
            let socket = try RawWebSocket(port: broker.port, extensions: "permessage-deflate")
            let huge = #"{"op":"subscribe","topic":"\#(String(repeating: "x", count: 1_000_000))"}"#
            let bomb = try #require(PerMessageDeflate.deflate(ByteBuffer(string: huge)))
            #expect(bomb.readableBytes < 1024, "small on the wire")
            try socket.send(opcode: 1, Array(bomb.readableBytesView), rsv1: true)
            let frames = await socket.frames { $0.opcode == 8 }
            let close = try #require(frames.last)
            #expect(close.opcode == 8)
            #expect(Array(close.payload.prefix(2)) == [0x03, 0xF1], "1009")
            #expect(String(decoding: close.payload.dropFirst(2), as: UTF8.self) == "message too big")
            socket.close()
        }
    }

    @Test func rsv1WithoutTheExtensionIsAProtocolError() async throws {
        try await withBroker { broker in
            for (extensions, protocols) in [(nil, "switchboard.v1"), ("permessage-deflate", "switchboard.v1.zstd")] {
                let socket = try RawWebSocket(port: broker.port, extensions: extensions, protocols: protocols)
                let compressed = try #require(PerMessageDeflate.deflate(ByteBuffer(string: #"{"op":"subscribe","topic":"t"}"#)))
                try socket.send(opcode: 1, Array(compressed.readableBytesView), rsv1: true)
                let frames = await socket.frames { $0.opcode == 8 }
                #expect(frames.last.map { Array($0.payload.prefix(2)) } == [0x03, 0xEA], "1002 on \(protocols)")
                socket.close()
            }
            // On a deflate connection RSV1 is still wrong on a control frame.
            let socket = try RawWebSocket(port: broker.port, extensions: "permessage-deflate")
            try socket.send(opcode: 9, [], rsv1: true)
            let frames = await socket.frames { $0.opcode == 8 }
            #expect(frames.last.map { Array($0.payload.prefix(2)) } == [0x03, 0xEA])
            socket.close()
        }
    }
}

/// A thread-safe count.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
