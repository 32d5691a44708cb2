import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each accepted connection: HTTP/1.1 for Hummingbird's router, or a WebSocket upgrade on
/// `/v1/ws` run by a ``WebSocketConnectionHandler``.
///
/// Modelled on HummingbirdWebSocket's `HTTP1WebSocketUpgradeChannel`, with differences that
/// are the reason it exists: a connection leaves Hummingbird's per-connection task as soon as
/// its first request says what it is, and lives on as NIO handlers that hold no task while
/// idle (a WebSocket in its ``WebSocketConnectionHandler``; HTTP/1 in the poll, publish and
/// ``RouterDispatchHandler`` handlers, which start a task per request for the router), and a
/// refused upgrade is answered with the refusal's real status and JSON error instead of an
/// empty 400. (NIO does not pass a refused upgrade request on to the HTTP handlers, so the
/// refusal is written here, and the connection closed after it.)
struct BrokerChannel: ServerChildChannel {
    /// What the first request of a connection turned it into.
    enum Negotiated: Sendable {
        /// A WebSocket, now run by its channel handler.
        case webSocket
        /// An HTTP/1 connection, now run by its channel handlers.
        case http
        /// A refused upgrade: answer the error, then close.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, APIError)
    }

    /// What the upgrade attempt on a connection came to (nil: the request asked for none).
    fileprivate enum Attempt {
        case accepted(WebSocketEndpoint.Accepted)
        case refused(APIError)
    }

    /// The connection's negotiation, resolved once its first request head was read.
    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    /// Runs the router for the requests no handler takes on the event loop.
    let dispatch: RouterDispatch
    let webSocket: WebSocketEndpoint
    /// Takes plain publishes on the event loop (nil: every request goes to the router).
    let publisher: LoopPublisher?
    /// The largest frame a client may send (the decoder answers bigger ones with 1009).
    let maxFrameSize: Int

    /// Hummingbird's server builder for this channel.
    /// (Application's own responder is not used: ``RouterDispatch`` runs the same router per request.)
    static func builder(dispatch: RouterDispatch, webSocket: WebSocketEndpoint, publisher: LoopPublisher?, maxFrameSize: Int) -> HTTPServerBuilder {
        HTTPServerBuilder { _ in
            BrokerChannel(dispatch: dispatch, webSocket: webSocket, publisher: publisher, maxFrameSize: maxFrameSize)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attempt = NIOLoopBoundBox<Attempt?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { [webSocket] channel, head in
                    let remote = BrokerRequestContext.describe(channel.remoteAddress)
                    let promise = channel.eventLoop.makePromise(of: Result<(WebSocketEndpoint.Accepted, HTTPFields), APIError>.self)
                    promise.completeWithTask {
                        guard let request = try? HTTPRequest(head, secure: false, splitCookie: false) else {
                            return .failure(APIError(.badRequest, code: "invalid_request", message: "The upgrade request's head is not valid HTTP."))
                        }
                        return await webSocket.decide(request, remote: remote)
                    }
                    return promise.futureResult.map { decision in
                        switch decision {
                        case .success(let (accepted, fields)):
                            attempt.value = .accepted(accepted)
                            return HTTPHeaders(fields)
                        case .failure(let error):
                            attempt.value = .refused(error)
                            return nil
                        }
                    }
                },
                upgradePipelineHandler: { [webSocket] channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accepted(let accepted) = attempt.value else { throw ChannelError.inappropriateOperationForState }
                        try channel.pipeline.syncOperations.addHandler(webSocket.makeHandler(accepted))
                        return .webSocket
                    }
                }
            )
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { [publisher, dispatch] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        // Waiting polls park on their connection and are answered on its event loop.
                        try channel.pipeline.syncOperations.addHandler(PollParkingHandler())
                        // Plain publishes are answered on the event loop too (through the parking handler, in order).
                        if let publisher { try channel.pipeline.syncOperations.addHandler(LoopPublishHandler(publisher: publisher)) }
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let refusal: APIError
                        switch attempt.value {
                        case nil:
                            try channel.pipeline.syncOperations.addHandler(RouterDispatchHandler(dispatch: dispatch))
                            return .http
                        case .refused(let error): refusal = error
                        // Accepted by us, yet not upgraded by NIO: its handshake was not valid.
                        case .accepted: refusal = Self.badHandshake
                        }
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return .refused(http, refusal)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // NIOAsyncChannel pipelines HTTP
            configuration.enableErrorHandling = false  // Hummingbird handles errors
            configuration.enableResponseHeaderValidation = false  // swift-http-types validates
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)
            try channel.pipeline.syncOperations.addHandler(UpgradeAttemptRecorder(attempt: attempt), position: .before(upgradeHandler))
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket, .http:
                return  // the channel handlers run the connection from here on
            case .refused(let http, let error):
                try await Self.answer(error, on: http)
            }
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// What an upgrade request NIO's upgrader could not take gets.
    static let badHandshake = APIError(
        .badRequest, code: "invalid_request", message: "Upgrade: websocket needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13; no other upgrade is offered."
    )

    /// Writes `error` as the contract's JSON with its status, and closes the connection.
    private static func answer(_ error: APIError, on http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async throws {
        let (head, body) = error.unroutedAnswer(closing: true)
        try await http.executeThenClose { _, outbound in
            try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
        }
    }
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
            if head.headers.contains(name: "upgrade") { attempt.value = .refused(BrokerChannel.badHandshake) }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}
