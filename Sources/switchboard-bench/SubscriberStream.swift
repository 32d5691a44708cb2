import SwitchboardCore

/// What a subscriber asks for, and how to read the answer.
struct SubscriberRequest: Sendable {
    /// Whose wire format to speak.
    var target: Target
    /// `Host` header value.
    var authority: String
    /// Request target: `/v1/ws?topics=t` or `/sub/t`.
    var path: String
    /// Offer `switchboard.v1.zstd` as the subprotocol.
    var zstd: Bool

    /// The HTTP/1.1 upgrade request.
    var head: String {
        var head = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if zstd { head += "Sec-WebSocket-Protocol: switchboard.v1.zstd\r\n" }
        return head + "\r\n"
    }
}

/// One subscriber connection's reading side, whatever carries its bytes (a NIO handler or
/// the epoll reader): reads the 101, parses server frames in place and counts their events
/// into a `DeliveryTally`. No allocation per message (zstd and fragmented messages aside).
struct SubscriberStream {
    /// Where the connection stands.
    enum Phase { case handshaking, open, closed }
    /// What the owner of the connection must do after `consume`.
    struct Outcome {
        /// The subscriber just became subscribed.
        var ready = false
        /// Why it must be closed as failed (refused upgrade, bad frame), if it must.
        var failure: String?
        /// The server sent a close frame: close the connection.
        var close = false
        /// A pong to write back (a masked client frame), if a ping came.
        var pong: [UInt8]?
    }

    /// What this subscriber asked for.
    let request: SubscriberRequest
    private(set) var phase = Phase.handshaking
    /// Whether the subscriber reached `subscribed` (Switchboard) or the 101 (nchan).
    private(set) var isReady = false
    /// A fragmented message being collected, and its opcode.
    private var fragments: [UInt8]?
    private var fragmentOpcode: UInt8 = 0
    private var order = OrderChecker()
    private var lastSeq: UInt64 = 0
    private var gapSinceLastFrame = false

    /// A stream that speaks `request`'s protocol.
    init(request: SubscriberRequest) { self.request = request }

    /// Marks the connection closed; nothing more is parsed.
    mutating func markClosed() { phase = .closed }

    /// Handles every complete handshake or frame in `bytes` (read at `now`); returns how many
    /// bytes that consumed (the caller keeps the rest for the next read).
    mutating func consume(_ bytes: UnsafeRawBufferPointer, now: Int64, tally: DeliveryTally, outcome: inout Outcome) -> Int {
        var index = 0
        if phase == .handshaking {
            guard let end = handshake(bytes, outcome: &outcome) else { return 0 }
            index = end
        }
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
                fail("the server masked a frame", &outcome)
                break
            }
            guard bytes.count - index - header >= length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(index + header)..<(index + header + length)])
            frame(opcode: first & 0x0F, fin: first & 0x80 != 0, payload, now: now, tally: tally, outcome: &outcome)
            index += header + length
        }
        return index
    }

    /// Consumes the 101 answer; returns where it ends, or nil while it is incomplete or when it refused the upgrade.
    private mutating func handshake(_ bytes: UnsafeRawBufferPointer, outcome: inout Outcome) -> Int? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<end.upperBound], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101") else {
            fail("upgrade refused: \(head.prefix { $0 != "\r" })", &outcome)
            return nil
        }
        if request.zstd, !head.lowercased().contains("sec-websocket-protocol: switchboard.v1.zstd") {
            fail("zstd was not negotiated", &outcome)
            return nil
        }
        phase = .open
        if request.target == .nchan { becomeReady(&outcome) }
        return end.upperBound
    }

    private mutating func frame(
        opcode: UInt8, fin: Bool, _ payload: UnsafeRawBufferPointer, now: Int64, tally: DeliveryTally, outcome: inout Outcome
    ) {
        switch opcode {
        case 0x1, 0x2:
            if fin {
                message(opcode: opcode, payload, now: now, tally: tally, outcome: &outcome)
            } else {
                fragmentOpcode = opcode
                fragments = Array(payload)
            }
        case 0x0:
            fragments?.append(contentsOf: payload)
            if fin, let whole = fragments {
                fragments = nil
                whole.withUnsafeBytes { message(opcode: fragmentOpcode, $0, now: now, tally: tally, outcome: &outcome) }
            }
        case 0x8:
            phase = .closed
            outcome.close = true
        case 0x9:
            // Pong with the ping's data; a client frame must be masked (an all-zero key leaves it as is).
            let data = payload.prefix(125)
            outcome.pong = [0x8A, 0x80 | UInt8(data.count), 0, 0, 0, 0] + data
        default:
            break
        }
    }

    private mutating func message(
        opcode: UInt8, _ payload: UnsafeRawBufferPointer, now: Int64, tally: DeliveryTally, outcome: inout Outcome
    ) {
        if request.target == .nchan {
            tally.frames += 1
            tally.record(payload, now: now, order: &order)
        } else if opcode == 0x1 {
            control(payload, tally: tally, outcome: &outcome)
        } else if let flags = payload.first, flags & EventFrame.compressedFlag != 0 {
            let body = UnsafeRawBufferPointer(rebasing: payload.dropFirst())
            if tally.inflater.inflate(body, into: { events(in: $0, now: now, tally: tally) }) == false {
                tally.malformed += 1
            }
        } else if !payload.isEmpty {
            events(in: UnsafeRawBufferPointer(rebasing: payload.dropFirst()), now: now, tally: tally)
        }
    }

    /// Reads one Switchboard event frame body (after the flags byte).
    private mutating func events(in body: UnsafeRawBufferPointer, now: Int64, tally: DeliveryTally) {
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
    private mutating func control(_ payload: UnsafeRawBufferPointer, tally: DeliveryTally, outcome: inout Outcome) {
        if payload.firstRange(of: Array(#""type":"subscribed""#.utf8)) != nil {
            becomeReady(&outcome)
        } else if payload.firstRange(of: Array(#""type":"gap""#.utf8)) != nil {
            tally.gaps += 1
            gapSinceLastFrame = true
        }
    }

    private mutating func becomeReady(_ outcome: inout Outcome) {
        guard !isReady else { return }
        isReady = true
        outcome.ready = true
    }

    private mutating func fail(_ reason: String, _ outcome: inout Outcome) {
        phase = .closed
        outcome.failure = reason
    }
}
