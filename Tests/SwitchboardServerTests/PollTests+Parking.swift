import Foundation
@testable import SwitchboardServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A poll parked on its connection (``PollParkingHandler``): what happens around it on the wire.
extension PollTests {
    @Test func aClientThatGoesAwayWhileItsPollIsParkedGivesItsPlaceBack() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            try socket.send("GET /v1/poll?topics=gone&timeout=60 HTTP/1.1\r\nHost: x\r\n\r\n")
            try await eventually("the poll waits") { broker.broker.waitingPolls.current == 1 }
            socket.close()
            try await eventually("its place is given back") { broker.broker.waitingPolls.current == 0 }
            try await eventually("it is no longer a connection") { broker.broker.state.count(.poll) == 0 }
        }
    }

    @Test func aRequestPipelinedBehindAParkedPollIsAnsweredAfterIt() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send(
                "GET /v1/poll?topics=piped&timeout=60 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            try await eventually("the poll waits") { broker.broker.waitingPolls.current == 1 }
            #expect(socket.receive(for: .milliseconds(300)).isEmpty, "nothing is answered before the poll")
            try await broker.http { try await broker.publish("piped", #"{"n":1}"#, client: $0) }
            let text = socket.receive(until: { $0.components(separatedBy: "HTTP/1.1 200 OK").count == 3 })
            let poll = try #require(text.range(of: #""topic":"piped""#))
            let health = try #require(text.range(of: #"{"status":"ok"}"#))
            #expect(poll.lowerBound < health.lowerBound, "answers keep the order of requests: \(text)")
        }
    }

    @Test func aParkedPollWithConnectionCloseIsAnsweredThenClosed() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send("GET /v1/poll?topics=closing&timeout=60 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            try await eventually("the poll waits") { broker.broker.waitingPolls.current == 1 }
            try await broker.http { try await broker.publish("closing", #"{"n":2}"#, client: $0) }
            let text = socket.receive(until: { _ in false })
            #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(text)")
            #expect(text.contains(#""data":{"n":2}"#))
            #expect(socket.isClosedByPeer, "the broker closed the connection after the answer")
        }
    }
}

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

    /// Closes the socket.
    func close() { _ = Glibc.close(fd) }
}
