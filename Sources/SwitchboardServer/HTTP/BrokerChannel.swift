import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each accepted connection: HTTP/1.1, run by an ``HTTP1ConnectionHandler``, or a WebSocket
/// upgrade on `/v1/ws` run by a ``WebSocketConnectionHandler``.
///
/// Modelled on HummingbirdWebSocket's `HTTP1WebSocketUpgradeChannel`, with differences that
/// are the reason it exists: a connection lives as NIO handlers on its event loop and holds
/// no task (``BrokerServer`` sets it up in the child channel initializer), an upgrade is
/// decided without a task when the credentials are known without suspending, and a refused
/// upgrade is answered with the refusal's real status and JSON error instead of an empty 400.
///
/// The connection handler is in the pipeline from the start, behind NIO's upgrade handler, so
/// that the first request's head is timed and bytes that are not HTTP get their 400 like any
/// later request's; it leaves the pipeline when an upgrade is accepted.
struct BrokerChannel: Sendable {
    /// What the upgrade attempt on a connection came to (nil: the request asked for none).
    fileprivate enum Attempt {
        case accepted(WebSocketEndpoint.Accepted)
        case refused(APIError)
    }

    /// What every HTTP/1 connection's handler shares.
    let http: HTTP1ConnectionHandler.Services
    let webSocket: WebSocketEndpoint
    /// The largest frame a client may send (the decoder answers bigger ones with 1009).
    let maxFrameSize: Int
    /// The largest request head (431 beyond).
    static let maxHeadBytes = 64 * 1024

    /// Sets up a new connection's pipeline, on its event loop: its first bytes decide what it is.
    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstRequestHandler(channel: self))
        }
    }

    /// Makes the connection a WebSocket connection: its codec and its handler.
    func installWebSocket(on channel: any Channel, _ accepted: WebSocketEndpoint.Accepted) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(WebSocketFrameEncoder())
        try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
        try pipeline.addHandler(webSocket.makeHandler(accepted))
    }

    /// Makes the connection an HTTP/1 connection: NIO's codec and upgrade handler, and the
    /// connection handler. `connectedAt`: when it was accepted, from which its first head is timed.
    func installHTTP(on channel: any Channel, connectedAt: NIODeadline) throws {
        let attempt = NIOLoopBoundBox<Attempt?>(nil, eventLoop: channel.eventLoop)
        let connectionHandler = HTTP1ConnectionHandler(services: http, connectedAt: connectedAt)
        let signalHandler = HTTPBytesSignal()
        let connection = NIOLoopBound(connectionHandler, eventLoop: channel.eventLoop)
        let upgrader = NIOTypedWebSocketServerUpgrader<Void>(
            maxFrameSize: maxFrameSize,
            // Protocol errors are the connection handler's to answer, with a reason (1009 "message too big").
            enableAutomaticErrorHandling: false,
            shouldUpgrade: { [webSocket] channel, head in
                let record: @Sendable (Result<(WebSocketEndpoint.Accepted, HTTPFields), APIError>) -> HTTPHeaders? = { decision in
                    switch decision {
                    case .success(let (accepted, fields)):
                        attempt.value = .accepted(accepted)
                        return HTTPHeaders(fields)
                    case .failure(let error):
                        attempt.value = .refused(error)
                        return nil
                    }
                }
                guard let request = try? HTTPRequest(head, secure: false, splitCookie: false) else {
                    return channel.eventLoop.makeSucceededFuture(record(.failure(Self.badHandshake)))
                }
                let remote = BrokerRequestContext.describe(channel.remoteAddress)
                // Decided on the event loop unless a JWT is to be verified.
                if let decision = webSocket.decideWithoutSuspending(request, remote: remote) {
                    return channel.eventLoop.makeSucceededFuture(record(decision))
                }
                let promise = channel.eventLoop.makePromise(of: Result<(WebSocketEndpoint.Accepted, HTTPFields), APIError>.self)
                promise.completeWithTask { await webSocket.decide(request, remote: remote) }
                return promise.futureResult.map(record)
            },
            upgradePipelineHandler: { [webSocket] channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard case .accepted(let accepted) = attempt.value else { throw ChannelError.inappropriateOperationForState }
                    let pipeline = channel.pipeline.syncOperations
                    pipeline.removeHandler(context: try pipeline.context(handlerType: HTTP1ConnectionHandler.self), promise: nil)
                    pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPBytesSignal.self), promise: nil)
                    try channel.pipeline.syncOperations.addHandler(webSocket.makeHandler(accepted))
                }
            }
        )
        let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Void>(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false), position: .before(connection.value))
                    switch attempt.value {
                    case nil: break
                    case .refused(let error): connection.value.refuseUpgrade(error)
                    // Accepted by us, yet not upgraded by NIO: its handshake was not valid.
                    case .accepted: connection.value.refuseUpgrade(Self.badHandshake)
                    }
                }
            }
        )
        var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Void>(upgradeConfiguration: upgrades)
        configuration.enablePipelining = false  // the connection handler keeps requests in order
        configuration.enableErrorHandling = false  // the connection handler answers bad bytes
        configuration.enableResponseHeaderValidation = false  // swift-http-types validates
        configuration.decoderConfiguration.maxHeaderListSize = Self.maxHeadBytes
        configuration.decoderConfiguration.maxHeaderFieldSize = Self.maxHeadBytes
        _ = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
        let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<Void>.self)
        try channel.pipeline.syncOperations.addHandler(UpgradeAttemptRecorder(attempt: attempt), position: .before(upgradeHandler))
        try channel.pipeline.syncOperations.addHandler(signalHandler, position: .first)
        try channel.pipeline.syncOperations.addHandler(connectionHandler)
    }

    /// What an upgrade request NIO's upgrader could not take gets.
    static let badHandshake = APIError(.invalidRequest, message: "Upgrade: websocket needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13; no other upgrade is offered."
    )
}

/// Notes a connection's first request asking for an upgrade as refused for a bad handshake
/// until the endpoint decides otherwise, then leaves the pipeline.
///
/// NIO's upgrade handler neither passes an upgrade request it refused on to the HTTP handlers
/// nor tells why it refused, and refuses some (no key, wrong version, another protocol)
/// without asking the endpoint; without this note such a connection would wait for a
/// request that never comes.
private final class UpgradeAttemptRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let attempt: NIOLoopBoundBox<BrokerChannel.Attempt?>

    init(attempt: NIOLoopBoundBox<BrokerChannel.Attempt?>) {
        self.attempt = attempt
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            if head.headers.contains(name: "upgrade") {
                attempt.value = .refused(BrokerChannel.badHandshake)
                context.fireUserInboundEventTriggered(UpgradeHeadSeen())
            }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}
