import NIOCore
import SwitchboardCore

/// A WebSocket subscriber on plain NIO: one handler that writes the upgrade request, reads the
/// 101, then parses server frames straight from each read and counts their events into a
/// shared `DeliveryTally`. No task and no allocation per message (zstd frames aside), so one
/// event loop carries thousands of them at the rates the brokers reach.
final class LightSubscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What to ask for and how to read the answer.
    struct Request: Sendable {
        /// Whose wire format to speak.
        var target: Target
        /// `Host` header value.
        var authority: String
        /// Request target: `/v1/ws?topics=t` or `/sub/t`.
        var path: String
        /// Offer `switchboard.v1.zstd` as the subprotocol.
        var zstd: Bool
    }

    private enum Phase { case handshaking, open, closed }
    private let request: Request
    private let tally: DeliveryTally
    private let ready: EventLoopPromise<Void>
    private var phase = Phase.handshaking
    private var isReady = false
    /// Whether `ready` was completed (succeeded or failed).
    private var settled = false
    private var context: ChannelHandlerContext?
    /// Bytes of an incomplete handshake or frame, kept for the next read.
    private var pending: ByteBuffer?
    /// A fragmented message being collected, and its opcode.
    private var fragments: ByteBuffer?
    private var fragmentOpcode: UInt8 = 0
    private var order = OrderChecker()
    private var lastSeq: UInt64 = 0
    private var gapSinceLastFrame = false

    /// A subscriber that completes `ready` once subscribed, or fails it if the connection ends first.
    init(request: Request, tally: DeliveryTally, ready: EventLoopPromise<Void>) {
        self.request = request
        self.tally = tally
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        markFailed(WebSocketHandshakeError("connection closed before subscribing"))
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = "GET \(request.path) HTTP/1.1\r\nHost: \(request.authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if request.zstd { head += "Sec-WebSocket-Protocol: switchboard.v1.zstd\r\n" }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head + "\r\n")), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isReady, phase != .closed, !tally.closing { tally.closedByBroker += 1 }
        phase = .closed
        markFailed(WebSocketHandshakeError("connection closed before subscribing"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        markFailed(error)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var earlier = pending {
            earlier.writeBuffer(&buffer)
            buffer = earlier
            pending = nil
        }
        if phase == .handshaking {
            guard readHandshake(&buffer) else { return }
        }
        guard phase == .open else { return }
        let now = nowMicros()
        let consumed = buffer.withUnsafeReadableBytes { parseFrames($0, now: now) }
        buffer.moveReaderIndex(forwardBy: consumed)
        if buffer.readableBytes > 0 { pending = buffer }
    }

    /// Consumes the 101 answer; false while it is incomplete or when it refused the upgrade.
    private func readHandshake(_ buffer: inout ByteBuffer) -> Bool {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else {
            pending = buffer
            return false
        }
        let head = String(decoding: view[view.startIndex..<end.upperBound], as: UTF8.self)
        buffer.moveReaderIndex(to: end.upperBound)
        guard head.hasPrefix("HTTP/1.1 101") else {
            fail("upgrade refused: \(head.prefix { $0 != "\r" })")
            return false
        }
        if request.zstd, !head.lowercased().contains("sec-websocket-protocol: switchboard.v1.zstd") {
            fail("zstd was not negotiated")
            return false
        }
        phase = .open
        if request.target == .nchan { markReady() }
        return true
    }

    /// Handles every complete frame in `bytes`; returns how many bytes that consumed.
    private func parseFrames(_ bytes: UnsafeRawBufferPointer, now: Int64) -> Int {
        var index = 0
        while bytes.count - index >= 2, phase == .open {
            let first = bytes[index], second = bytes[index + 1]
            var length = Int(second & 0x7F)
            var header = 2
            if length == 126 {
                guard bytes.count - index >= 4 else { break }
                length = Int(bytes.loadUnaligned(fromByteOffset: index + 2, as: UInt16.self).bigEndian)
                header = 4
            } else if length == 127 {
                guard bytes.count - index >= 10 else { break }
                length = Int(bytes.loadUnaligned(fromByteOffset: index + 2, as: UInt64.self).bigEndian)
                header = 10
            }
            guard second & 0x80 == 0 else {
                fail("the server masked a frame")
                break
            }
            guard bytes.count - index - header >= length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(index + header)..<(index + header + length)])
            frame(opcode: first & 0x0F, fin: first & 0x80 != 0, payload, now: now)
            index += header + length
        }
        return index
    }

    private func frame(opcode: UInt8, fin: Bool, _ payload: UnsafeRawBufferPointer, now: Int64) {
        switch opcode {
        case 0x1, 0x2:
            if fin {
                message(opcode: opcode, payload, now: now)
            } else {
                fragmentOpcode = opcode
                fragments = ByteBuffer(bytes: payload)
            }
        case 0x0:
            fragments?.writeBytes(payload)
            if fin, let whole = fragments {
                fragments = nil
                whole.withUnsafeReadableBytes { message(opcode: fragmentOpcode, $0, now: now) }
            }
        case 0x8:
            phase = .closed
            if !tally.closing { tally.closedByBroker += 1 }
            context?.close(promise: nil)
        case 0x9:
            // Pong with the ping's data; a client frame must be masked (an all-zero key leaves it as is).
            var pong = ByteBuffer()
            pong.writeInteger(UInt8(0x8A))
            pong.writeInteger(UInt8(0x80) | UInt8(min(payload.count, 125)))
            pong.writeInteger(UInt32(0))
            pong.writeBytes(UnsafeRawBufferPointer(rebasing: payload.prefix(125)))
            context?.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break
        }
    }

    private func message(opcode: UInt8, _ payload: UnsafeRawBufferPointer, now: Int64) {
        if request.target == .nchan {
            tally.frames += 1
            tally.record(payload, now: now, order: &order)
        } else if opcode == 0x1 {
            control(payload)
        } else if let flags = payload.first, flags & EventFrame.compressedFlag != 0 {
            do {
                let body = try tally.decompressor.decompress(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: payload.dropFirst())))
                body.withUnsafeReadableBytes { events(in: $0, now: now) }
            } catch {
                tally.malformed += 1
            }
        } else if !payload.isEmpty {
            events(in: UnsafeRawBufferPointer(rebasing: payload.dropFirst()), now: now)
        }
    }

    /// Reads one Switchboard event frame body (after the flags byte).
    private func events(in body: UnsafeRawBufferPointer, now: Int64) {
        guard body.count >= 2 else { return tally.malformed += 1 }
        var offset = 2 + Int(body.loadUnaligned(fromByteOffset: 0, as: UInt16.self).bigEndian)
        guard body.count - offset >= 12 else { return tally.malformed += 1 }
        let firstSeq = body.loadUnaligned(fromByteOffset: offset, as: UInt64.self).bigEndian
        let count = Int(body.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self).bigEndian)
        offset += 12
        if lastSeq != 0, firstSeq != lastSeq + 1, !gapSinceLastFrame { tally.seqErrors += 1 }
        lastSeq = firstSeq + UInt64(max(count, 1)) - 1
        gapSinceLastFrame = false
        tally.frames += 1
        for _ in 0..<count {
            guard body.count - offset >= 12 else { return tally.malformed += 1 }
            let length = Int(body.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self).bigEndian)
            offset += 12
            guard body.count - offset >= length else { return tally.malformed += 1 }
            tally.record(UnsafeRawBufferPointer(rebasing: body[offset..<(offset + length)]), now: now, order: &order)
            offset += length
        }
    }

    /// A Switchboard control message: only `subscribed` and `gap` matter here.
    private func control(_ payload: UnsafeRawBufferPointer) {
        if payload.firstRange(of: Array(#""type":"subscribed""#.utf8)) != nil {
            markReady()
        } else if payload.firstRange(of: Array(#""type":"gap""#.utf8)) != nil {
            tally.gaps += 1
            gapSinceLastFrame = true
        }
    }

    private func markReady() {
        guard !settled else { return }
        settled = true
        isReady = true
        tally.ready += 1
        ready.succeed()
    }

    private func fail(_ reason: String) {
        markFailed(WebSocketHandshakeError(reason))
        phase = .closed
        context?.close(promise: nil)
    }

    private func markFailed(_ error: any Error) {
        guard !settled else { return }
        settled = true
        tally.failed += 1
        ready.fail(error)
    }
}

/// Why a light subscriber did not get subscribed.
struct WebSocketHandshakeError: Error, CustomStringConvertible {
    /// What went wrong.
    let description: String
    /// An error saying `description`.
    init(_ description: String) { self.description = description }
}
