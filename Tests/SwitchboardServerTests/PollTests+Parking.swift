import Foundation
@testable import SwitchboardServer
import Testing

/// A poll parked on its connection (``HTTP1ConnectionHandler``): what happens around it on the wire.
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
            #expect(await socket.received(for: .milliseconds(300)).isEmpty, "nothing is answered before the poll")
            try await broker.http { try await broker.publish("piped", #"{"n":1}"#, client: $0) }
            let text = await socket.received(until: { $0.components(separatedBy: "HTTP/1.1 200 OK").count == 3 })
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
            let text = await socket.received(until: { _ in false })
            #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(text)")
            #expect(text.contains(#""data":{"n":2}"#))
            #expect(socket.isClosedByPeer, "the broker closed the connection after the answer")
        }
    }
}
