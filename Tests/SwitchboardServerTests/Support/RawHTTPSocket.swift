import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket speaking raw HTTP/1.1, to pipeline requests and watch the bytes.
final class RawHTTPSocket: @unchecked Sendable {
    private let fd: Int32
    /// Whether a read saw the end of the stream.
    private(set) var isClosedByPeer = false

    /// Connects to the broker on 127.0.0.1.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// Writes `text` as it is.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EIO) }
    }

    /// What arrives within `duration`.
    func receive(for duration: Duration) -> String {
        let deadline = ContinuousClock.now + duration
        return receive(until: { _ in ContinuousClock.now >= deadline }, wait: 50)
    }

    /// What arrives until `done` says so, the peer closes, or 10 seconds pass.
    func receive(until done: (String) -> Bool, wait milliseconds: Int32 = 10_000) -> String {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, !done(String(decoding: received, as: UTF8.self)) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) > 0 else {
                if milliseconds < 10_000 { continue }
                break
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 {
                isClosedByPeer = count == 0
                break
            }
            received += buffer[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// ``receive(until:wait:)`` on a thread of its own: the broker under test runs its routes
    /// on Swift's cooperative pool in this same process, and a blocking wait there would
    /// starve them (on 2 cores, two waiting tests are the whole pool).
    func received(until done: @escaping @Sendable (String) -> Bool) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receive(until: done)) }.start()
        }
    }

    /// ``receive(for:)`` on a thread of its own (see ``received(until:)``).
    func received(for duration: Duration) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receive(for: duration)) }.start()
        }
    }

    /// Closes the sending side only, as a client that has said all it will say.
    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Closes the socket.
    func close() { _ = Glibc.close(fd) }
}
