import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypesHTTP1
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// ``HTTP1ConnectionHandler`` in a testing channel: raw request bytes in, response bytes out,
/// with NIO's real HTTP codec in front, and the broker's real routes and engine behind.
@Suite struct HTTP1ConnectionHandlerTests {
    /// A channel with the connection's pipeline, connected, and the broker behind it.
    private func connection(_ configuration: BrokerConfiguration = BrokerConfiguration()) async throws -> (NIOAsyncTestingChannel, Broker) {
        let broker = try Broker(configuration: configuration)
        let services = broker.httpServices()
        let channel = NIOAsyncTestingChannel()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = BrokerChannel.maxHeadBytes
        limits.maxHeaderFieldSize = BrokerChannel.maxHeadBytes
        try await channel.testingEventLoop.executeInContext { [limits] in
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(HTTPBytesSignal())
            try pipeline.addHandler(HTTPResponseEncoder())
            try pipeline.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits))
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTP1ConnectionHandler(services: services))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        return (channel, broker)
    }

    /// Everything written out until `done` holds of it, or two seconds pass.
    private func output(of channel: NIOAsyncTestingChannel, until done: (String) -> Bool) async throws -> String {
        var text = ""
        for _ in 0..<400 {
            while let data = try await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
            }
            if done(text) { return text }
            try await Task.sleep(for: .milliseconds(5))
        }
        return text
    }

    private func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    private func publish(_ topic: String, _ body: String, extra: String = "") -> String {
        "POST /v1/topics/\(topic) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    @Test func aPublishIsAnsweredOnTheEventLoopInTheSameRead() async throws {
        let (channel, broker) = try await connection()
        try await channel.writeInbound(ByteBuffer(string: publish("a", "one") + publish("a", "two")))
        // No task ran: both answers are out as soon as the bytes were read.
        var text = ""
        while let data = try await channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        #expect(count("HTTP/1.1 200 OK", in: text) == 2)
        #expect(text.contains(#""seq":1"#) && text.contains(#""seq":2"#))
        #expect(try broker.engine.read(topic: "a", from: .since(0, epoch: nil), limit: 10, create: false)?.events.count == 2)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func aRoutedRequestAndAPublishBehindItAreAnsweredInOrder() async throws {
        let (channel, _) = try await connection()
        try await channel.writeInbound(ByteBuffer(string: publish("h", "x")))
        try await channel.writeInbound(ByteBuffer(string: "GET /v1/topics/h/events HTTP/1.1\r\nHost: x\r\n\r\n" + publish("h", "y")))
        let text = try await output(of: channel) { self.count("HTTP/1.1 200", in: $0) == 3 }
        #expect(count("HTTP/1.1 200", in: text) == 3, "\(text)")
        let history = try #require(text.range(of: #""events":["#))
        let second = try #require(text.range(of: #""seq":2,"epoch""#))
        #expect(history.lowerBound < second.lowerBound, "the history (a task) answers before the publish behind it (the loop)")
        #expect(!text[history.lowerBound...].prefix(200).contains(#""seq":2,"ts""#), "the history ran before the publish")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func aHeadOverTheLimitIsAnswered431AndClosed() async throws {
        let (channel, _) = try await connection()
        let big = String(repeating: "v", count: 70 * 1024)
        _ = try? await channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n"))
        let text = try await output(of: channel) { $0.contains("\r\n\r\n{") }
        #expect(text.hasPrefix("HTTP/1.1 431"), "\(text.prefix(200))")
        #expect(text.contains(#""code":"header_too_large""#))
        try await channel.closeFuture.get()
    }

    @Test func aRequestFramedTwoWaysIsRefusedAndNothingAfterItRuns() async throws {
        let (channel, broker) = try await connection()
        let smuggled = "POST /v1/topics/s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + publish("s", "evil")
        _ = try? await channel.writeInbound(ByteBuffer(string: smuggled))
        let text = try await output(of: channel) { $0.contains("}") }
        #expect(text.hasPrefix("HTTP/1.1 400"), "\(text.prefix(200))")
        #expect(text.contains(#""code":"invalid_request""#))
        try await channel.closeFuture.get()
        #expect(try broker.engine.read(topic: "s", from: .since(0, epoch: nil), limit: 10, create: false) == nil, "nothing was published")
    }

    @Test func aHeadNotCompleteWithinTheHeaderTimeoutClosesTheConnection() async throws {
        let (channel, _) = try await connection(BrokerConfiguration(headerTimeoutSeconds: 2))
        try await channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHo"))
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        #expect(channel.isActive)
        try await channel.writeInbound(ByteBuffer(string: "st: x\r\n"))  // trickled on, but the head is late
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func anIdleKeepAliveConnectionIsNotTimedButTheNextHeadIs() async throws {
        let (channel, _) = try await connection(BrokerConfiguration(headerTimeoutSeconds: 2))
        try await channel.writeInbound(ByteBuffer(string: publish("k", "1")))
        await channel.testingEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive, "between requests nothing is owed")
        try await channel.writeInbound(ByteBuffer(string: "POST /v1/top"))
        await channel.testingEventLoop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive)
    }

    @Test func aGracefulShutdownAnswersThePublishStillArrivingThenCloses() async throws {
        let (channel, broker) = try await connection()
        try await channel.writeInbound(ByteBuffer(string: "POST /v1/topics/d HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhal"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive, "the request in flight is not cut off")
        try await channel.writeInbound(ByteBuffer(string: "f!!"))
        let text = try await output(of: channel) { $0.contains("}") }
        #expect(text.hasPrefix("HTTP/1.1 200"), "\(text.prefix(200))")
        try await channel.closeFuture.get()
        #expect(try broker.engine.read(topic: "d", from: .since(0, epoch: nil), limit: 10, create: false)?.events.count == 1)
    }

    @Test func aGracefulShutdownClosesAnIdleConnectionAtOnce() async throws {
        let (channel, _) = try await connection()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try await channel.closeFuture.get()
    }
}
