import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Gives each request that the event-loop handlers below did not take to the router, in a
/// task that lives only as long as that request (``RouterDispatch``): between requests an
/// HTTP connection holds no task, only its channel handlers, and neither does a poll parked
/// on it. This replaces Hummingbird's task per connection (`handleHTTP` over a
/// `NIOAsyncChannel`), which was most of a waiting poll's memory, and whose end cost a walk
/// of the server's whole task group.
///
/// - A body of up to ``smallBodyBytes`` is read whole before the route starts. A bigger one
///   is streamed to the route as it arrives (``RequestBodyStream``), with back-pressure: the
///   socket is not read while the route is behind. What the route leaves unread is read and
///   dropped.
/// - Requests pipelined behind one being answered wait here, and the socket is not read
///   while any wait; they start in order, each when the response before it has ended.
/// - `Connection: close` closes the connection after its response, and requests after it
///   are ignored. A client that closes its side gets the answers it asked for, then the
///   connection closes. A request that is not valid HTTP/1.1 gets the contract's 400 and
///   the connection closes.
///
/// Last in every HTTP/1 connection's pipeline, after Hummingbird's
/// `HTTPConnectionStateHandler`, which still closes idle connections on a graceful shutdown.
final class RouterDispatchHandler: ChannelDuplexHandler {
    /// Requests for the router.
    typealias InboundIn = HTTPRequestPart
    /// The router's responses, watched for their ends.
    typealias OutboundIn = HTTPResponsePart
    /// Responses towards the codec.
    typealias OutboundOut = HTTPResponsePart

    /// The largest body read whole before its route starts.
    static let smallBodyBytes = 64 * 1024

    /// What becomes of the parts of the request being read.
    private enum Reading {
        /// Between requests.
        case idle
        /// Kept until the end: the head and the body so far.
        case collecting(HTTPRequest, ByteBuffer?)
        /// Given to the running route as they come (`id` tells this stream's callbacks from stale ones).
        case streaming(RequestBodyStream.Source, id: UInt64)
        /// Dropped: the rest of a body its route no longer reads.
        case discarding
    }

    /// What waits behind the request being answered.
    private enum Queued {
        case part(HTTPRequestPart)
        /// The codec found the bytes after the queued parts not to be HTTP/1.1.
        case invalid
    }

    private let dispatch: RouterDispatch
    private var context: ChannelHandlerContext?
    private var reading = Reading.idle
    /// A route runs, or its response has not ended yet.
    private var responding = false
    /// Nothing more is taken; the connection closes after the current response.
    private var closing = false
    /// The client closed its side.
    private var inputClosed = false
    private var queued = CircularBuffer<Queued>()
    /// The streamed body's route is behind: no reading until it asks for more.
    private var bodyPaused = false
    /// A read was asked for while reading was held back.
    private var readHeld = false
    private var streams: UInt64 = 0

    /// Creates the handler of one connection.
    init(dispatch: RouterDispatch) {
        self.dispatch = dispatch
    }

    /// Keeps the context, for the body stream's callbacks.
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Ends a body stream still open, so its route does not wait for ever.
    func handlerRemoved(context: ChannelHandlerContext) {
        connectionEnded()
        self.context = nil
    }

    /// Takes the part now, or queues it behind the request being answered.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closing, case .idle = reading { return }  // after `Connection: close`, or an invalid request
        if queued.isEmpty, canTake(part) {
            take(part, context: context)
        } else {
            queued.append(.part(part))
        }
    }

    /// Holds reads back while requests wait or a streamed body's route is behind.
    func read(context: ChannelHandlerContext) {
        if bodyPaused || !queued.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Watches for the end of each response: the next request may start, or the connection close.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        responding = false
        if closing || (inputClosed && queued.isEmpty) {
            context.write(data, promise: closingAfter(promise, context: context))
            return
        }
        context.write(data, promise: promise)
        takeQueued(context: context)
    }

    /// A client that closed its side gets the answers to what it sent, then the connection closes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            switch reading {
            case .streaming(let source, _): source.finish(ChannelError.eof)  // its route sees the body cut short
            case .collecting: break  // a request cut short is not answered
            case .idle, .discarding: break
            }
            reading = .idle
            bodyPaused = false
            if !responding, queued.isEmpty { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Ends a body stream still open.
    func channelInactive(context: ChannelHandlerContext) {
        connectionEnded()
        context.fireChannelInactive()
    }

    /// Bytes that are not HTTP/1.1 get the contract's 400 after the answers before them; any
    /// other error closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is HTTP1TypeConversionError else {
            context.close(promise: nil)
            return
        }
        if case .streaming(let source, _) = reading { source.finish(error) }
        reading = .idle
        queued.append(.invalid)
        takeQueued(context: context)
    }

    /// Whether `part` can be taken now: a new request only once the previous one was read
    /// whole and answered.
    private func canTake(_ part: HTTPRequestPart) -> Bool {
        guard case .head = part else { return true }
        if responding || closing { return false }
        if case .idle = reading { return true }
        return false
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (part, reading) {
        case (.head(let head), .idle):
            reading = .collecting(head, nil)
        case (.body(let chunk), .collecting(let head, let collected)):
            reading = .idle  // let go of the body before appending, so it is not copied
            guard var body = collected else { return collect(head, chunk, context: context) }
            body.writeImmutableBuffer(chunk)
            collect(head, body, context: context)
        case (.body(let chunk), .streaming(let source, let id)):
            feed(chunk, to: source, id: id)
        case (.end, .collecting(let head, let body)):
            reading = .idle
            start(head, body: RequestBody(buffer: body ?? ByteBuffer()), context: context)
        case (.end, .streaming(let source, _)):
            reading = .idle
            bodyPaused = false
            source.finish()
            takeQueued(context: context)
        case (.end, .discarding):
            reading = .idle
            takeQueued(context: context)
        case (.body, .discarding), (.body, .idle), (.end, .idle), (.head, _):
            break  // the rest of a body nobody reads; the codec sends nothing else out of order
        }
    }

    /// Keeps collecting `body`, or streams it once it outgrows ``smallBodyBytes``.
    private func collect(_ head: HTTPRequest, _ body: ByteBuffer, context: ChannelHandlerContext) {
        guard body.readableBytes > Self.smallBodyBytes else {
            reading = .collecting(head, body)
            return
        }
        streams &+= 1
        let (stream, source) = RequestBodyStream.make(for: NIOLoopBound(self, eventLoop: context.eventLoop), id: streams)
        reading = .streaming(source, id: streams)
        start(head, body: stream, context: context)
        feed(body, to: source, id: streams)
    }

    private func feed(_ chunk: ByteBuffer, to source: RequestBodyStream.Source, id: UInt64) {
        switch source.yield(chunk) {
        case .produceMore: break
        case .stopProducing: bodyPaused = true
        case .dropped: bodyAbandoned(id)
        }
    }

    /// The route of body stream `id` wants more of it.
    func bodyWanted(_ id: UInt64) {
        guard case .streaming(_, let current) = reading, current == id, bodyPaused else { return }
        bodyPaused = false
        resumeReading()
    }

    /// The route of body stream `id` let go of it before its end: the rest is read and dropped.
    func bodyAbandoned(_ id: UInt64) {
        guard case .streaming(_, let current) = reading, current == id else { return }
        reading = .discarding
        bodyPaused = false
        resumeReading()
    }

    /// Runs the router for the request in a task of its own.
    private func start(_ head: HTTPRequest, body: RequestBody, context: ChannelHandlerContext) {
        responding = true
        if Self.asksToClose(head) { closing = true }
        let request = Request(head: head, body: body)
        let channel = context.channel
        let dispatch = self.dispatch
        Task { await dispatch.serve(request, on: channel) }
    }

    /// Takes what waited, in order, as far as it can go now; reading resumes once nothing waits.
    private func takeQueued(context: ChannelHandlerContext) {
        while let next = queued.first {
            switch next {
            case .part(let part):
                guard canTake(part) else { return }
                queued.removeFirst()
                take(part, context: context)
            case .invalid:
                guard !responding, case .idle = reading else { return }
                queued.removeAll()
                answerInvalid(context: context)
                return
            }
        }
        if inputClosed, !responding {
            context.close(promise: nil)
        } else {
            resumeReading()
        }
    }

    private func resumeReading() {
        guard readHeld, !bodyPaused, queued.isEmpty, let context else { return }
        readHeld = false
        context.read()
    }

    /// The contract's 400 for bytes that are not HTTP/1.1, then the connection closes.
    private func answerInvalid(context: ChannelHandlerContext) {
        closing = true
        responding = true
        let (head, body) = APIError(.badRequest, code: "invalid_request", message: "The request is not valid HTTP/1.1.").unroutedAnswer(closing: true)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: closingAfter(nil, context: context))
    }

    /// `promise` (or a new one) for a connection's last write, which closes it once written.
    private func closingAfter(_ promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) -> EventLoopPromise<Void> {
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        return written
    }

    private func connectionEnded() {
        if case .streaming(let source, _) = reading { source.finish(ChannelError.ioOnClosedChannel) }
        reading = .idle
        queued.removeAll()
        bodyPaused = false
    }

    /// Whether the request's `Connection` field says `close`.
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains(where: saysClose)
    }

    /// Whether one `Connection` value lists the `close` option.
    static func saysClose(_ value: String) -> Bool {
        value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
    }
}

@available(*, unavailable)
extension RouterDispatchHandler: Sendable {}
