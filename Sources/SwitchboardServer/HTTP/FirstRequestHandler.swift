import NIOCore

/// The only handler of a new connection: its first bytes decide what the connection becomes.
///
/// A plain WebSocket handshake on `/v1/ws` that passes every check without suspending (see
/// ``WebSocketHandshake`` for the shape, ``WebSocketEndpoint/checkWithoutSuspending(_:remote:)``
/// for the checks) is answered `101` here and the connection becomes a WebSocket connection
/// at once: no HTTP decoder, response encoder or upgrade handler is created for it only to be
/// removed (issue 13, item 9; the figures are in BENCHMARKS.md). Everything else — any other
/// request, a head split over several reads, a handshake refused or carrying a JWT to verify —
/// gets the HTTP/1 pipeline (``BrokerChannel/installHTTP(on:connectedAt:)``) with the bytes
/// read so far, and is answered exactly as it would have been without this handler.
///
/// Until the first bytes come, this handler keeps the header timeout: a connection that sends
/// nothing is handed to the HTTP/1 pipeline when it lapses, which closes it as it closes any
/// head that is too slow. A drain (`ChannelShouldQuiesceEvent`) closes a connection that has
/// sent nothing yet.
final class FirstRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Raw bytes.
    typealias InboundIn = ByteBuffer
    /// The `101` answer.
    typealias OutboundOut = ByteBuffer

    private let channel: BrokerChannel
    /// When the connection was accepted (nil until it is active).
    private var connectedAt: NIODeadline?
    private var timer: Scheduled<Void>?
    /// The connection has been handed on; the handler is leaving.
    private var decided = false

    /// Creates the handler of one new connection.
    init(channel: BrokerChannel) {
        self.channel = channel
    }

    /// Starts the header timeout, when the connection is already active.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    /// Starts the header timeout.
    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    /// Takes the handshake, or hands the connection to the HTTP/1 pipeline with the bytes.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return context.fireChannelRead(data) }
        let bytes = unwrapInboundIn(data)
        if !takeWebSocket(context: context, bytes: bytes) {
            handOver(context: context, bytes: bytes)
        }
    }

    /// A drain closes a connection that sent nothing yet.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !decided {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Stops the timer.
    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        guard connectedAt == nil else { return }
        let now = context.eventLoop.now
        connectedAt = now
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: now + channel.http.headerTimeout) {
            let (handler, context) = bound.value
            handler.timer = nil
            if !handler.decided { handler.handOver(context: context, bytes: nil) }
        }
    }

    /// Answers a plain handshake that passes every check now; false when the bytes are anything else.
    private func takeWebSocket(context: ChannelHandlerContext, bytes: ByteBuffer) -> Bool {
        guard let handshake = WebSocketHandshake(bytes.readableBytesView) else { return false }
        let remote = BrokerRequestContext.describe(context.channel.remoteAddress)
        guard case .success(let accepted)? = channel.webSocket.checkWithoutSuspending(.init(head: handshake.request, body: .init(buffer: ByteBuffer())), remote: remote) else {
            return false
        }
        context.write(wrapOutboundOut(handshake.response(subprotocol: accepted.upgrade.subprotocol, extensions: accepted.upgrade.deflate?.response)), promise: nil)
        let channel = context.channel
        leave(context: context)
        do {
            try self.channel.installWebSocket(on: channel, accepted)
        } catch {
            channel.close(promise: nil)
            return true
        }
        // The 101 and whatever the new handler wrote at once (`subscribed`) leave in one write.
        channel.flush()
        return true
    }

    /// Gives the connection the HTTP/1 pipeline and passes it the bytes read so far.
    private func handOver(context: ChannelHandlerContext, bytes: ByteBuffer?) {
        let (pipeline, connection, now) = (context.pipeline.syncOperations, context.channel, context.eventLoop.now)
        leave(context: context)
        do {
            try channel.installHTTP(on: connection, connectedAt: connectedAt ?? now)
        } catch {
            connection.close(promise: nil)
            return
        }
        if let bytes { pipeline.fireChannelRead(NIOAny(bytes)) }
    }

    /// Stops the timer and leaves the pipeline (at once: the handler has no removal of its own).
    private func leave(context: ChannelHandlerContext) {
        decided = true
        timer?.cancel()
        timer = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension FirstRequestHandler: Sendable {}
