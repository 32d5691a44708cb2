import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client on a blocking socket that shows every frame as it is on the wire (RSV1
/// included) and sends frames built by hand, for the permessage-deflate tests.
final class RawWebSocket: @unchecked Sendable {
    /// One frame as received.
    struct Frame: Equatable {
        var fin: Bool
        var rsv1: Bool
        var opcode: UInt8
        var payload: [UInt8]
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    /// The handshake answer's head, status line and header lines.
    private(set) var responseHead = ""

    /// Connects to the broker on 127.0.0.1 and sends the handshake with `extensions` as
    /// `Sec-WebSocket-Extensions` (none when nil) and `extra` header lines (each ending in
    /// CRLF); reads the answer's head.
    init(port: Int, target: String = "/v1/ws", extensions: String?, protocols: String? = nil, extra: String = "") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let extensions { head += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        if let protocols { head += "Sec-WebSocket-Protocol: \(protocols)\r\n" }
        head += extra
        try sendBytes(Array((head + "\r\n").utf8))
        while true {
            if let end = buffer.firstRange(of: [13, 10, 13, 10]) {
                responseHead = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<end.upperBound)
                return
            }
            guard fill(timeout: 10_000) else { throw POSIXError(.ECONNRESET) }
        }
    }

    /// The value of a header of the handshake answer (case-insensitive name).
    func responseHeader(_ name: String) -> String? {
        for line in responseHead.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// Sends one masked frame.
    func send(opcode: UInt8, _ payload: [UInt8], rsv1: Bool = false, fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (8 * UInt64($0))) & 0xFF) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try sendBytes(frame)
    }

    /// The next frame, or nil when none arrives within `milliseconds` or the peer closed.
    func readFrame(milliseconds: Int32 = 10_000) -> Frame? {
        let deadline = ContinuousClock.now + .milliseconds(Int(milliseconds))
        while true {
            if let frame = takeFrame() { return frame }
            if closedByPeer || ContinuousClock.now >= deadline { return nil }
            _ = fill(timeout: 100)
        }
    }

    /// ``readFrame(milliseconds:)`` on a thread of its own, so the broker's tasks in this
    /// process are not starved by a blocking wait on the cooperative pool.
    func frame(milliseconds: Int32 = 10_000) async -> Frame? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.readFrame(milliseconds: milliseconds)) }.start()
        }
    }

    /// Frames until one matches `done` (returned last), skipping pings.
    func frames(until done: @escaping @Sendable (Frame) -> Bool) async -> [Frame] {
        var frames: [Frame] = []
        while let frame = await frame() {
            frames.append(frame)
            if done(frame) { break }
        }
        return frames
    }

    /// Closes the socket.
    func close() { _ = Glibc.close(fd) }

    private var closedByPeer = false

    private func sendBytes(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw POSIXError(.EIO) }
            sent += count
        }
    }

    /// Reads what is there within `timeout` ms; false when nothing came.
    private func fill(timeout: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeout) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else {
            closedByPeer = true
            return false
        }
        buffer += chunk[..<count]
        return true
    }

    /// A whole server frame from the buffer, if one is there.
    private func takeFrame() -> Frame? {
        guard buffer.count >= 2 else { return nil }
        var length = Int(buffer[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard buffer.count >= 4 else { return nil }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            offset = 4
        } else if length == 127 {
            guard buffer.count >= 10 else { return nil }
            length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard buffer.count >= offset + length else { return nil }
        let frame = Frame(fin: buffer[0] & 0x80 != 0, rsv1: buffer[0] & 0x40 != 0, opcode: buffer[0] & 0x0F, payload: Array(buffer[offset..<(offset + length)]))
        buffer.removeSubrange(..<(offset + length))
        return frame
    }
}
