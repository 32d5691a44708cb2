import NIOCore

/// A WebSocket subscriber on plain NIO: one handler that writes the upgrade request and feeds
/// every read to a `SubscriberStream`. `idle` uses it (thousands of quiet connections);
/// `fanout` reads through `EpollSubscribers`, which costs less per frame.
final class LightSubscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: SubscriberRequest
    private let tally: DeliveryTally
    private let ready: EventLoopPromise<Void>
    private var stream: SubscriberStream
    /// Whether `ready` was completed (succeeded or failed).
    private var settled = false
    private var context: ChannelHandlerContext?
    /// Bytes of an incomplete handshake or frame, kept for the next read.
    private var pending: ByteBuffer?

    /// A subscriber that completes `ready` once subscribed, or fails it if the connection ends first.
    init(request: SubscriberRequest, tally: DeliveryTally, ready: EventLoopPromise<Void>) {
        self.request = request
        self.tally = tally
        self.ready = ready
        stream = SubscriberStream(request: request)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        markFailed(WebSocketHandshakeError("connection closed before subscribing"))
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request.head)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if stream.isReady, stream.phase != .closed, !tally.closing { tally.closedByBroker += 1 }
        stream.markClosed()
        markFailed(WebSocketHandshakeError("connection closed before subscribing"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        markFailed(error)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var earlier = pending {
            earlier.writeBuffer(&buffer)
            buffer = earlier
            pending = nil
        }
        guard stream.phase != .closed else { return }
        var outcome = SubscriberStream.Outcome()
        let now = nowMicros()
        let consumed = buffer.withUnsafeReadableBytes { stream.consume($0, now: now, tally: tally, outcome: &outcome) }
        buffer.moveReaderIndex(forwardBy: consumed)
        if buffer.readableBytes > 0 { pending = buffer }
        if outcome.ready { markReady() }
        if let pong = outcome.pong { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: pong)), promise: nil) }
        if let failure = outcome.failure {
            markFailed(WebSocketHandshakeError(failure))
            context.close(promise: nil)
        } else if outcome.close {
            if !tally.closing { tally.closedByBroker += 1 }
            context.close(promise: nil)
        }
    }

    private func markReady() {
        guard !settled else { return }
        settled = true
        tally.ready += 1
        ready.succeed()
    }

    private func markFailed(_ error: any Error) {
        guard !settled else { return }
        settled = true
        tally.failed += 1
        ready.fail(error)
    }
}

/// Why a subscriber did not get subscribed.
struct WebSocketHandshakeError: Error, CustomStringConvertible {
    /// What went wrong.
    let description: String
    /// An error saying `description`.
    init(_ description: String) { self.description = description }
}
