import HTTPTypes
import NIOCore
import NIOHTTPTypes
import SwitchboardCore

/// Publishes `POST /v1/topics/{topic}` right on the connection's event loop, without
/// Hummingbird's router: no task hop, no async body stream, no router or middleware per
/// request. Which requests it takes, and their checks, are ``LoopPublisher``'s; every other
/// request goes on to the router untouched.
///
/// Answers keep the order of requests: a request is taken only while the router owes no
/// answer on the connection (counted by the ends of responses that pass here), and answers
/// go out as whole encoded responses through ``PollParkingHandler/writeEncoded(_:)``, which
/// holds them behind a parked poll. A publish the engine refuses is handed to the router
/// whole (head, body, end) and answered there.
///
/// One per HTTP/1 connection, between ``PollParkingHandler`` and Hummingbird's handlers.
final class LoopPublishHandler: ChannelDuplexHandler {
    /// Requests from the HTTP codec.
    typealias InboundIn = HTTPRequestPart
    /// Requests for the router.
    typealias InboundOut = HTTPRequestPart
    /// The router's responses, counted and passed on.
    typealias OutboundIn = HTTPResponsePart
    /// Responses towards the codec.
    typealias OutboundOut = HTTPResponsePart

    /// Where the parts of the request being read go.
    private enum Current {
        /// Between requests.
        case idle
        /// To the router.
        case routed
        /// Here: its head, what was taken, and the body so far.
        case taken(HTTPRequest, LoopPublisher.Taken, ByteBuffer?)
    }

    private let publisher: LoopPublisher
    private var current = Current.idle
    /// Requests given to the router whose answers have not ended yet.
    private var routerOwes = 0
    /// An answer was written and awaits the flush at the end of this read.
    private var unflushed = false
    /// The receipt's JSON, reused from answer to answer.
    private var scratch = ByteBuffer()
    /// Writes the encoded answers, in order with the router's (a parked poll's hold included).
    private var parking: PollParkingHandler?

    /// Creates the handler of one connection.
    init(publisher: LoopPublisher) {
        self.publisher = publisher
    }

    /// Finds the parking handler below, which writes the answers; without one that can write
    /// encoded responses, every request goes to the router.
    func handlerAdded(context: ChannelHandlerContext) {
        parking = (try? context.pipeline.syncOperations.handler(type: PollParkingHandler.self)).flatMap { $0.writesEncoded ? $0 : nil }
    }

    /// Lets go of the parking handler.
    func handlerRemoved(context: ChannelHandlerContext) {
        parking = nil
    }

    /// Takes a publish it can finish here, or passes the request on.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routerOwes == 0, parking != nil, let taken = publisher.take(head, remote: context.channel.remoteAddress) {
                current = .taken(head, taken, nil)
            } else {
                current = .routed
                routerOwes += 1
                context.fireChannelRead(data)
            }
        case .body(let chunk):
            guard case .taken(let head, let taken, let body) = current else { return context.fireChannelRead(data) }
            current = .idle  // let go of the body before appending, so it is not copied
            guard var body else {
                current = .taken(head, taken, chunk)
                return
            }
            body.writeImmutableBuffer(chunk)
            current = .taken(head, taken, body)
        case .end:
            guard case .taken(let head, let taken, let body) = current else {
                current = .idle
                return context.fireChannelRead(data)
            }
            current = .idle
            let payload = body ?? ByteBuffer()
            if let receipt = publisher.publish(taken, body: payload) {
                answer(receipt, context: context)
            } else {
                routerOwes += 1
                context.fireChannelRead(wrapInboundOut(.head(head)))
                context.fireChannelRead(wrapInboundOut(.body(payload)))
                context.fireChannelRead(data)
            }
        }
    }

    /// Flushes the answers written during this read, once.
    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// Counts the router's answers as they end.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routerOwes = max(0, routerOwes - 1) }
        context.write(data, promise: promise)
    }

    /// Writes a publish's 200 and its receipt, as the route's answer looks, as the bytes of
    /// one whole response (built once; no header fields to convert and encode per answer).
    private func answer(_ receipt: PublishReceipt, context: ChannelHandlerContext) {
        scratch.clear()
        PublishRoutes<BrokerRequestContext>.write(receipt, into: &scratch)
        var response = context.channel.allocator.buffer(capacity: 128 + scratch.readableBytes)
        response.writeStaticString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
        response.writeString(String(scratch.readableBytes))
        response.writeStaticString("\r\nDate: ")
        response.writeString(HTTPDate.now)
        response.writeStaticString("\r\n\r\n")
        response.writeImmutableBuffer(scratch)
        parking?.writeEncoded(response)
        unflushed = true
    }
}

@available(*, unavailable)
extension LoopPublishHandler: Sendable {}
