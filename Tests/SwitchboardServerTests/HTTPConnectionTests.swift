import Foundation
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// What a client sees of an HTTP/1.1 connection (``HTTP1ConnectionHandler``): big bodies,
/// bodies over the limit, `Connection: close`, a client that closes its side, bytes that are
/// not HTTP, and the contract's HTTP hygiene from the very first request.
@Suite struct HTTPConnectionTests {
    /// `body` as one chunked `POST /v1/topics/{topic}`, in chunks of `chunk` bytes; chunked,
    /// so that the router (not the event-loop publish path) reads it.
    private func chunkedPost(_ topic: String, _ body: String, chunk: Int = 16_384) -> String {
        var text = "POST /v1/topics/\(topic) HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        var rest = Substring(body)
        while !rest.isEmpty {
            let piece = rest.prefix(chunk)
            rest = rest.dropFirst(piece.count)
            text += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
        }
        return text + "0\r\n\r\n"
    }

    @Test func aBodyBiggerThanWhatIsReadWholeIsStreamedToTheRouteAndTheConnectionGoesOn() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            let payload = String((0..<300_000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            try #require(payload.utf8.count > HTTP1ConnectionHandler.smallBodyBytes)
            try socket.send(chunkedPost("big", payload) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let text = await socket.received(until: { rawAnswers($0).count == 2 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 2, "\(text.prefix(500))")
            #expect(answers.map(\.status) == [200, 200])
            let stored = try broker.broker.engine.read(topic: "big", from: .since(0, epoch: nil), limit: 10, create: false)
            #expect(stored?.events.map { String(buffer: $0.payload) } == [payload], "the whole body, in order")
        }
    }

    @Test func aBodyOverTheLimitIs413AndTheRestOfItIsDroppedNotTakenForARequest() async throws {
        try await withBroker(BrokerConfiguration(engine: EngineConfiguration(maxPayloadBytes: 100_000))) { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            // The rest of the body holds what would be a request, were it read as one.
            let smuggled = "GET /v1/topics/over/events HTTP/1.1\r\nHost: x\r\n\r\n"
            let body = String(repeating: smuggled, count: 300_000 / smuggled.utf8.count)
            try socket.send(chunkedPost("over", body) + rawPost("over", "after"))
            let text = await socket.received(until: { rawAnswers($0).count == 2 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 2, "\(text.prefix(500))")
            #expect(answers.map(\.status) == [413, 200])
            #expect(answers[0].body.contains(#""code":"payload_too_large""#))
            #expect(parseJSON(answers[1].body)["seq"] as? Int == 1, "nothing was published before it")
        }
    }

    @Test func connectionCloseIsAnsweredThenTheConnectionClosesAndWhatFollowsIsIgnored() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send(
                "GET /v1/topics/closing/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + rawPost("closing", "ignored")
            )
            let text = await socket.received(until: { _ in false })
            #expect(socket.isClosedByPeer, "the broker closed the connection")
            #expect(rawAnswers(text).map(\.status) == [200], "\(text)")
            let stored = try broker.broker.engine.read(topic: "closing", from: .since(0, epoch: nil), limit: 10, create: false)
            #expect(stored?.events.isEmpty ?? true, "the request after Connection: close was not run")
        }
    }

    @Test func aClientThatClosesItsSideGetsItsAnswersThenTheConnectionCloses() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send(rawPost("half", "1") + "GET /v1/topics/half/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            socket.shutdownWrite()
            let text = await socket.received(until: { _ in false })
            #expect(socket.isClosedByPeer)
            let answers = rawAnswers(text)
            #expect(answers.map(\.status) == [200, 200], "\(text)")
            #expect(answers.last?.body.contains(#""seq":1"#) == true)
        }
    }

    @Test func bytesThatAreNotHTTPGetTheContractsErrorAfterTheAnswersBeforeThem() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHELLO\u{1} there\r\n\r\n")
            let text = await socket.received(until: { _ in false })
            #expect(socket.isClosedByPeer)
            let answers = rawAnswers(text)
            #expect(answers.map(\.status) == [200, 400], "\(text)")
            #expect(answers.last?.body.contains(#""code":"invalid_request""#) == true)
            // The broker goes on serving everyone else.
            let other = try RawHTTPSocket(port: broker.port)
            defer { other.close() }
            try other.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let fine = await other.received(until: { $0.hasSuffix("}") })
            #expect(rawAnswers(fine).map(\.status) == [200])
        }
    }

    /// A first request that is garbage, smuggles with two framings or two lengths, or whose head
    /// is over 64 KiB: answered with the contract's error, and the connection closes.
    @Test func aBadFirstRequestIsAnsweredAndClosed() async throws {
        try await withBroker { broker in
            let cases: [(String, Int)] = [
                ("HELLO\u{1} there\r\n\r\n", 400),
                ("POST /v1/topics/s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                ("POST /v1/topics/s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
                ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "v", count: 67 * 1024))\r\n\r\n", 431),
            ]
            for (request, status) in cases {
                let socket = try RawHTTPSocket(port: broker.port)
                defer { socket.close() }
                try socket.send(request + rawPost("s", "after"))
                let text = await socket.received(until: { _ in false })
                #expect(socket.isClosedByPeer, "closed after \(request.prefix(40))")
                #expect(rawAnswers(text).map(\.status) == [status], "\(request.prefix(40)): \(text.prefix(300))")
            }
            let stored = try broker.broker.engine.read(topic: "s", from: .since(0, epoch: nil), limit: 10, create: false)
            #expect(stored?.events.isEmpty ?? true, "nothing after a refused request was taken as a request")
        }
    }

    /// A head trickled a byte at a time is cut off at the header timeout; others are served meanwhile.
    @Test func aTrickledHeadIsClosedAtTheHeaderTimeout() async throws {
        try await withBroker(BrokerConfiguration(headerTimeoutSeconds: 1)) { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            let started = ContinuousClock.now
            for byte in "GET /healthz HTTP/1.1\r\nHost: x\r\n".prefix(12) {
                guard (try? socket.send(String(byte))) != nil else { break }
                _ = await socket.received(for: .milliseconds(200))
                if socket.isClosedByPeer { break }
            }
            _ = await socket.received(until: { _ in false })
            #expect(socket.isClosedByPeer)
            #expect(ContinuousClock.now - started < .seconds(4), "closed at the timeout, not at the end of the trickle")
            let other = try RawHTTPSocket(port: broker.port)
            defer { other.close() }
            try other.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(rawAnswers(await other.received(until: { $0.hasSuffix("}") })).map(\.status) == [200])
        }
    }
}
