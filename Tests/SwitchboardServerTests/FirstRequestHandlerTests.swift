import NIOCore
import NIOEmbedded
import NIOWebSocket
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// ``FirstRequestHandler`` in a testing channel with the broker's real pipeline behind it: a
/// plain handshake becomes a WebSocket at once, everything else reaches the HTTP/1 pipeline
/// with its bytes and is answered as before.
@Suite struct FirstRequestHandlerTests {
    /// A new connection as ``BrokerServer`` sets it up, connected.
    private func connection(_ configuration: BrokerConfiguration = BrokerConfiguration()) async throws -> NIOAsyncTestingChannel {
        let broker = try Broker(configuration: configuration)
        let setup = BrokerChannel(http: broker.httpServices(), webSocket: broker.webSocketEndpoint, maxFrameSize: configuration.maxClientFrameBytes)
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext { _ = setup.setup(channel: channel, logger: broker.logger) }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        return channel
    }

    private func handshake(_ target: String = "/v1/ws?topics=a", extra: String = "") -> String {
        "GET \(target) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: switchboard.v1\r\n\(extra)\r\n"
    }

    /// Everything written out until `done` holds of it, or two seconds pass.
    private func output(of channel: NIOAsyncTestingChannel, until done: (String) -> Bool) async throws -> String {
        String(decoding: try await bytes(of: channel) { done(String(decoding: $0, as: UTF8.self)) }, as: UTF8.self)
    }

    /// The bytes written out until `done` holds of them, or two seconds pass (the loop's tasks run meanwhile).
    private func bytes(of channel: NIOAsyncTestingChannel, until done: ([UInt8]) -> Bool) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<400 {
            await channel.testingEventLoop.run()
            while let data = try await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { bytes += buffer.readableBytesView }
            }
            if done(bytes) { return bytes }
            try await Task.sleep(for: .milliseconds(5))
        }
        return bytes
    }

    /// Which of the handlers that matter are in the pipeline now.
    private func handlers(_ channel: NIOAsyncTestingChannel) async throws -> (webSocket: Bool, first: Bool, http: Bool) {
        try await channel.testingEventLoop.executeInContext {
            let pipeline = channel.pipeline.syncOperations
            return (
                (try? pipeline.handler(type: WebSocketConnectionHandler.self)) != nil,
                (try? pipeline.handler(type: FirstRequestHandler.self)) != nil,
                (try? pipeline.handler(type: HTTP1ConnectionHandler.self)) != nil
            )
        }
    }

    @Test func aPlainHandshakeIsAWebSocketAtOnceWithItsSubscribedBehindThe101() async throws {
        let channel = try await connection()
        try await channel.writeInbound(ByteBuffer(string: handshake()))
        let text = try await output(of: channel) { $0.contains("subscribed") }
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(text)")
        #expect(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(text.contains("Sec-WebSocket-Protocol: switchboard.v1\r\n"))
        #expect(text.contains(#""type":"subscribed","topic":"a""#), "\(text)")
        #expect(try await handlers(channel).webSocket)
        #expect(try await !handlers(channel).first)
        #expect(try await !handlers(channel).http, "no HTTP handler was made for it")
        // The connection speaks WebSocket now: a masked ping is answered with a pong.
        try await channel.writeInbound(ByteBuffer(bytes: [0x89, 0x82, 1, 2, 3, 4, UInt8(ascii: "h") ^ 1, UInt8(ascii: "i") ^ 2]))
        let reply = try await bytes(of: channel) { !$0.isEmpty }
        #expect(reply == [0x8A, 2, UInt8(ascii: "h"), UInt8(ascii: "i")], "a pong frame with the ping's data")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func anyOtherRequestReachesTheHTTPPipelineWithItsBytes() async throws {
        let channel = try await connection()
        try await channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        let text = try await output(of: channel) { $0.contains("}") }
        #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(text)")
        #expect(text.contains(#"{"status":"ok"}"#))
        #expect(try await handlers(channel).http)
        #expect(try await !handlers(channel).first)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func aHandshakeSplitOverTwoReadsIsUpgradedTheFullWay() async throws {
        let channel = try await connection()
        let whole = handshake()
        let cut = whole.index(whole.startIndex, offsetBy: 30)
        try await channel.writeInbound(ByteBuffer(string: String(whole[..<cut])))
        try await channel.writeInbound(ByteBuffer(string: String(whole[cut...])))
        let text = try await output(of: channel) { $0.contains("subscribed") }
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(text)")
        #expect(text.contains(#""type":"subscribed","topic":"a""#), "\(text)")
        #expect(try await handlers(channel).webSocket)
        #expect(try await !handlers(channel).http, "the HTTP handler left on the upgrade")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func aRefusedHandshakeIsAnsweredByTheHTTPPipelineWithItsReason() async throws {
        let channel = try await connection(BrokerConfiguration(credentials: .init(adminToken: "root-token")))
        try await channel.writeInbound(ByteBuffer(string: handshake()))
        let text = try await output(of: channel) { $0.contains("}") }
        #expect(text.hasPrefix("HTTP/1.1 401"), "\(text)")
        #expect(text.contains(#""code":"unauthorized""#))
        #expect(try await !handlers(channel).webSocket)
    }

    @Test func aConnectionThatSendsNothingIsClosedAtTheHeaderTimeout() async throws {
        let channel = try await connection(BrokerConfiguration(headerTimeoutSeconds: 2))
        await channel.testingEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(channel.isActive)
        await channel.testingEventLoop.advanceTime(by: .milliseconds(200))
        await channel.testingEventLoop.run()
        #expect(!channel.isActive, "closed as a head that never came")
    }

    @Test func aConnectionThatSendsNothingIsClosedByADrain() async throws {
        let channel = try await connection()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        await channel.testingEventLoop.run()
        #expect(!channel.isActive)
    }
}
