import DequeModule
import Logging
import NIOCore

/// Commands on their way out, with the promises of the replies they expect.
struct RedisRequest: Sendable {
    /// One or more encoded commands.
    var bytes: ByteBuffer
    /// One promise per reply expected, in order; empty for commands answered by pushes only (SUBSCRIBE).
    var replies: [EventLoopPromise<RESP3Value>]
    /// How long each reply may take.
    var timeout: TimeAmount
}

/// Keeps a connection's pipelining in one place: replies are matched to commands in the order the
/// commands were written, push frames go to a callback, and every reply still awaited is failed
/// when its time runs out or the connection goes.
///
/// A reply whose command timed out is still read and then dropped, so later replies stay matched.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var id: UInt64
        var promise: EventLoopPromise<RESP3Value>
        var timeout: Scheduled<Void>?
        var abandoned: Bool
    }

    private var decoder: RESP3Decoder
    private var pending: Deque<Pending> = []
    private var nextID: UInt64 = 0
    private var closed = false
    private let onPush: (@Sendable (RESP3Value) -> Void)?
    private let logger: Logger

    init(limits: RESP3Decoder.Limits, logger: Logger, onPush: (@Sendable (RESP3Value) -> Void)?) {
        self.decoder = RESP3Decoder(limits: limits)
        self.logger = logger
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            for reply in request.replies { reply.fail(RedisError.connectionClosed("the connection is closed")) }
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        for reply in request.replies {
            let id = nextID
            nextID &+= 1
            let timeout = context.eventLoop.scheduleTask(in: request.timeout) {
                loopBound.value.expire(id)
            }
            pending.append(Pending(id: id, promise: reply, timeout: timeout, abandoned: false))
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        decoder.feed(unwrapInboundIn(data))
        do {
            while let value = try decoder.next() {
                if case .push = value.withoutAttributes {
                    onPush?(value.withoutAttributes)
                    continue
                }
                guard let next = pending.popFirst() else {
                    logger.error("Redis sent a reply nobody asked for; closing the connection")
                    failAll(RedisError.protocolError("a reply nobody asked for"))
                    context.close(promise: nil)
                    return
                }
                next.timeout?.cancel()
                if !next.abandoned { next.promise.succeed(value) }
            }
        } catch {
            logger.error("Redis sent bytes that are not RESP; closing the connection", metadata: ["error": "\(error)"])
            failAll(RedisError.protocolError("\(error)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed("the connection closed"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed("the connection closed"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Redis connection error", metadata: ["error": "\(error)"])
        failAll(RedisError.connectionClosed("\(error)"))
        context.close(promise: nil)
    }

    private func expire(_ id: UInt64) {
        guard let index = pending.firstIndex(where: { $0.id == id }), !pending[index].abandoned else { return }
        pending[index].abandoned = true
        pending[index].timeout = nil
        pending[index].promise.fail(RedisError.timeout("no reply within the command timeout"))
    }

    private func failAll(_ error: RedisError) {
        closed = true
        while let next = pending.popFirst() {
            next.timeout?.cancel()
            next.promise.fail(error)
        }
    }
}
