import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import SwitchboardCore

/// Lets a waiting long-poll hold no task: the route parks the poll here and answers
/// Hummingbird with a placeholder, which this handler drops; when the poll's waiter fires,
/// the handler has the route read and encode the answer (``PollRoutes/answer(_:after:)``)
/// and writes it right on the connection's event loop.
///
/// The answer is written as the bytes of a whole HTTP/1.1 response, built once for every
/// poll it answers, below NIO's `HTTPResponseEncoder` (which keeps no state across complete
/// responses); without that encoder in the pipeline it goes through the codecs as parts.
///
/// One per HTTP/1 connection, just after the HTTP codec. At most one poll parks at a time;
/// responses to requests pipelined behind it, and a close of the output, wait until it has
/// answered, so answers keep the order of requests.
final class PollParkingHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopWakeable {
    /// Requests pass through untouched.
    typealias InboundIn = HTTPRequestPart
    /// Hummingbird's responses, dropped (the placeholder), held or passed on.
    typealias OutboundIn = HTTPResponsePart
    /// Responses towards the HTTP codec.
    typealias OutboundOut = HTTPResponsePart

    /// A parked poll and the routes that answer it; a class, so that handling it copies one
    /// reference rather than every field of the poll and the routes.
    private final class Parked {
        var wait: PollWait
        let routes: PollRoutes
        /// Tells a stale wake-up (of a poll that already ended) from the current one.
        let generation: UInt64

        /// Keeps `wait` parked, to be answered by `routes`.
        init(wait: PollWait, routes: PollRoutes, generation: UInt64) {
            self.wait = wait
            self.routes = routes
            self.generation = generation
        }
    }

    /// What the route answers Hummingbird with when it parked the poll; never sent.
    static var placeholder: Response { Response(status: .noContent) }

    private var context: ChannelHandlerContext?
    /// The context of NIO's HTTP/1 response encoder, to write encoded responses below it.
    private var encoderContext: ChannelHandlerContext?
    /// Where wake-ups of this loop's parked polls are queued.
    private var wakeups: LoopWakeups?
    private var parked: Parked?
    /// The client closed its side of the connection.
    private var inputClosed = false
    private var generation: UInt64 = 0
    /// Whether the route's placeholder is still to come through (and be dropped).
    private var dropping = false
    /// A write held behind a parked poll: a response part from above, or a whole encoded
    /// response from ``writeEncoded(_:)``.
    private enum Held {
        case part(HTTPResponsePart, EventLoopPromise<Void>?)
        case encoded(ByteBuffer)
    }

    /// Writes that came after the placeholder while the poll was parked, in order.
    private var held: [Held] = []
    /// A close of the output that came while the poll was parked.
    private var heldClose: (mode: CloseMode, promise: EventLoopPromise<Void>?)?

    /// Creates the handler of one connection.
    init() {}

    /// Parks `wait` on `channel`'s handler, to be answered on its event loop; false when the
    /// channel has no such handler or a poll is parked there already (the route then waits in its task).
    static func park(_ wait: PollWait, routes: PollRoutes, on channel: any Channel) async -> Bool {
        let parked = channel.eventLoop.submit {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: PollParkingHandler.self) else { return false }
            return handler.park(wait, routes: routes)
        }
        return (try? await parked.get()) ?? false
    }

    /// Keeps the contexts it writes through.
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        wakeups = LoopWakeups.of(context.eventLoop)
    }

    /// Gives back a poll still parked.
    func handlerRemoved(context: ChannelHandlerContext) {
        abandon()
        self.context = nil
        encoderContext = nil
        wakeups = nil
    }

    /// `head` and `body` as the bytes of an HTTP/1.1 response, as NIO's encoder writes them.
    static func wire(_ head: HTTPResponse, body: ByteBuffer) -> ByteBuffer {
        var text = "HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for field in head.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
        text += "\r\n"
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.utf8.count + body.readableBytes)
        buffer.writeString(text)
        buffer.writeImmutableBuffer(body)
        return buffer
    }

    /// The client went away: a parked poll ends unanswered.
    func channelInactive(context: ChannelHandlerContext) {
        abandon()
        context.fireChannelInactive()
    }

    /// A client that closes its side while its poll is parked is taken as gone (as a proxy
    /// takes a client abort): the poll ends unanswered and the connection closes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if parked != nil {
                abandon()
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Drops the placeholder, holds what follows it while the poll is parked, passes the rest.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if dropping {
            if case .end = part { dropping = false }
            promise?.succeed(())
        } else if parked != nil {
            held.append(.part(part, promise))
        } else {
            context.write(data, promise: promise)
        }
    }

    /// Writes the bytes of a whole HTTP/1.1 response from a handler above (the event loop's
    /// publishes) below the HTTP encoder, in order with every other answer: held while a poll
    /// is parked, like any write after it. Flushed by the next flush.
    /// Only call it when ``writesEncoded``.
    func writeEncoded(_ response: ByteBuffer) {
        if parked != nil {
            held.append(.encoded(response))
        } else {
            encoderContext?.write(NIOAny(IOData.byteBuffer(response)), promise: nil)
        }
    }

    /// Whether NIO's HTTP/1 response encoder is below, so that ``writeEncoded(_:)`` can write.
    var writesEncoded: Bool { encoderContext != nil }

    /// Flushes unless a poll is parked.
    func flush(context: ChannelHandlerContext) {
        // While parked, everything written is held; the answer flushes it.
        if parked == nil { context.flush() }
    }

    /// Holds a close of the output until the parked poll has answered; but when the client
    /// closed its side before the poll parked (Hummingbird then closes as soon as the route
    /// returns), nobody is left to answer: the poll ends unanswered and the close goes on.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if parked != nil, inputClosed {
            abandon()
            context.close(mode: mode, promise: promise)
        } else if parked != nil, mode != .input, heldClose == nil {
            heldClose = (mode, promise)
        } else {
            context.close(mode: mode, promise: promise)
        }
    }

    /// Parks `wait` here; false when a poll is parked (or its placeholder pending) already.
    private func park(_ wait: PollWait, routes: PollRoutes) -> Bool {
        guard parked == nil, !dropping, context != nil, wakeups != nil else { return false }
        generation &+= 1
        parked = Parked(wait: wait, routes: routes, generation: generation)
        dropping = true
        arm()
        return true
    }

    /// Leaves the parked poll's waiter on its topics, to call ``woken(_:)`` on this loop when it fires.
    private func arm() {
        guard let parked, let wakeups else { return }
        let wakeup = LoopWakeups.Wakeup(handler: NIOLoopBound(self as any LoopWakeable, eventLoop: wakeups.loop), generation: parked.generation)
        parked.wait.waiter.onFire { wakeups.post(wakeup) }
        _ = parked.wait.reader.watchNow(parked.wait.waiter)
    }

    /// The parked poll's waiter fired (`generation` says which poll): answer, or wait again
    /// when there is nothing new. On the loop.
    func woken(_ generation: UInt64) {
        guard let parked, parked.generation == generation else { return }
        let wake = parked.wait.waiter.take()
        // Only a close comes from elsewhere than the topics, which let go of every waiter as
        // they fire them: a poll of one topic has nothing to take back otherwise.
        if wake.closed || parked.wait.reader.topics.count > 1 {
            parked.wait.reader.unwatchNow(parked.wait.waiter)
        }
        do throws(EngineError) {
            guard let answer = try parked.routes.answer(&parked.wait, after: wake) else {
                arm()
                return
            }
            parked.routes.record(answer)
            finish(head: answer.head, body: answer.body, wire: answer.wire)
        } catch {
            let (head, body) = APIError(error).unroutedAnswer(closing: false)
            finish(head: head, body: body, wire: nil)
        }
    }

    /// Ends the parked poll with this response (`wire` is the same, encoded), then lets
    /// through what was held behind it.
    private func finish(head: HTTPResponse, body: ByteBuffer, wire: ByteBuffer?) {
        guard let parked, let context else { return }
        self.parked = nil
        parked.routes.end(waiter: parked.wait.waiter, connection: parked.wait.connection)
        if let wire, let encoderContext {
            encoderContext.write(NIOAny(IOData.byteBuffer(wire)), promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
        let held = self.held
        self.held = []
        for write in held {
            switch write {
            case .part(let part, let promise): context.write(wrapOutboundOut(part), promise: promise)
            case .encoded(let response): writeEncoded(response)
            }
        }
        context.flush()
        if let close = heldClose {
            heldClose = nil
            context.close(mode: close.mode, promise: close.promise)
        }
    }

    /// The connection went away with a poll parked: give back what it held, unanswered.
    private func abandon() {
        if let parked {
            self.parked = nil
            parked.wait.reader.unwatchNow(parked.wait.waiter)
            parked.routes.end(waiter: parked.wait.waiter, connection: parked.wait.connection)
        }
        let held = self.held
        self.held = []
        for case .part(_, let promise) in held { promise?.fail(ChannelError.ioOnClosedChannel) }
        if let close = heldClose {
            heldClose = nil
            close.promise?.succeed(())
        }
    }
}

@available(*, unavailable)
extension PollParkingHandler: Sendable {}
