import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import SwitchboardCore

/// Runs an HTTP/1.1 connection: the one handler between the HTTP codec and the broker's
/// work. ``HTTP1ConnectionStateMachine`` decides what happens; this does it.
///
/// - A request read whole is published right here on the event loop when it is a publish
///   that needs no waiting (``EventPublisher/answerWithoutSuspending(_:body:remote:)``);
///   anything else runs its route in a task that lives as long as the request
///   (``RouterDispatch``). Between requests a connection holds no task, only this handler.
/// - A route answers with a ``RouteResult``: a response (written by the task), a stream
///   (the same, for as long as it lasts; cancelled when the client goes away), or a poll to
///   park here until its waiter fires, when its answer is read and written on the event loop.
/// - Bodies over ``smallBodyBytes`` stream to their route with back-pressure.
/// - Answers written here (publishes, woken polls, refusals) are the bytes of whole
///   responses, written below NIO's response encoder and flushed once per read.
/// - The header timeout, the 431 for heads over the decoder's limit, the 400-and-close for
///   bytes that are not HTTP/1.1, and a graceful shutdown (`ChannelShouldQuiesceEvent`) are
///   the machine's rules too.
final class HTTP1ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopWakeable {
    /// Requests from the codec.
    typealias InboundIn = HTTPRequestPart
    /// Route responses, watched for their ends.
    typealias OutboundIn = HTTPResponsePart
    /// Responses towards the codec.
    typealias OutboundOut = HTTPResponsePart

    /// The largest body read whole before its request runs.
    static let smallBodyBytes = 64 * 1024

    /// What every connection's handler shares.
    struct Services: Sendable {
        /// Runs routes.
        let dispatch: RouterDispatch
        /// Publishes on the event loop (nil: every request runs its route).
        let publisher: EventPublisher?
        /// How long a request head may take to arrive.
        let headerTimeout: TimeAmount
        /// Counts busy connections, for the drain.
        let state: BrokerState
    }

    /// A parked poll and the routes that answer it; a class, so that handling it copies one
    /// reference rather than every field of the poll and the routes.
    private final class Parked {
        var wait: PollWait
        let routes: PollRoutes
        /// Tells a stale wake-up (of a poll that already ended) from the current one.
        let generation: UInt64

        init(wait: PollWait, routes: PollRoutes, generation: UInt64) {
            self.wait = wait
            self.routes = routes
            self.generation = generation
        }
    }

    private var machine = HTTP1ConnectionStateMachine(smallBodyBytes: HTTP1ConnectionHandler.smallBodyBytes)
    private let services: Services
    private var context: ChannelHandlerContext?
    /// NIO's response encoder's context, to write whole encoded responses below it.
    private var encoderContext: ChannelHandlerContext?
    private var wakeups: LoopWakeups?
    /// The body being streamed to its route, and which request it belongs to.
    private var body: (source: RequestBodyStream.Source, request: UInt64)?
    /// The route task of the request being answered.
    private var route: (task: Task<Void, Never>, request: UInt64)?
    /// Requests run so far on this connection; each one's number tells its callbacks from stale ones.
    private var requests: UInt64 = 0
    private var parked: Parked?
    /// Writes held behind a parked poll's answer: the answer of the request that ran ahead of it.
    private enum Held {
        case part(HTTPResponsePart, EventLoopPromise<Void>?)
        case encoded(ByteBuffer)
    }

    private var held: [Held] = []
    /// The one timer that watches request heads: scheduled when a head starts and none runs,
    /// and on firing either closes (the head is late), re-arms for the head now being read, or
    /// lapses. Heads that complete in time cost a clock read, not a timer each.
    private var headerTimer: Scheduled<Void>?
    /// When the head being read began to arrive (nil: none is being read).
    private var headStarted: NIODeadline?
    /// When the connection was accepted, if that was before this handler joined it: the first
    /// head is timed from then.
    private var connectedAt: NIODeadline?
    /// Inside `channelRead`: answers written now are flushed at the read's end.
    private var reading = false
    private var unflushed = false
    /// A read was asked for while reading was held back.
    private var readHeld = false
    /// Counted among the broker's busy connections.
    private var busy = false

    /// Creates the handler of one connection; `connectedAt` is when it was accepted, when
    /// the handler joins it later (the first head is timed from then).
    init(services: Services, connectedAt: NIODeadline? = nil) {
        self.services = services
        self.connectedAt = connectedAt
    }

    // MARK: Pipeline events

    /// Keeps the contexts it writes through, and starts the first head's timer.
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        wakeups = LoopWakeups.of(context.eventLoop)
        if context.channel.isActive { armHeaderTimer() }
    }

    /// Ends whatever still runs (the handler leaves on a WebSocket upgrade, or with its channel).
    func handlerRemoved(context: ChannelHandlerContext) {
        connectionEnded()
        self.context = nil
        encoderContext = nil
    }

    /// A new connection's first head is timed.
    func channelActive(context: ChannelHandlerContext) {
        armHeaderTimer()
        context.fireChannelActive()
    }

    /// Ends whatever still runs on the connection.
    func channelInactive(context: ChannelHandlerContext) {
        connectionEnded()
        context.fireChannelInactive()
    }

    /// Feeds each request part to the machine.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        switch unwrapInboundIn(data) {
        case .head(let head):
            cancelHeaderTimer()
            run(machine.headArrived(head))
        case .body(let chunk):
            run(machine.bodyArrived(chunk))
        case .end:
            run(machine.endArrived())
        }
    }

    /// Flushes the answers written during this read, once.
    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// Holds reads back while requests wait their turn or a streamed body's route is behind.
    func read(context: ChannelHandlerContext) {
        if machine.mayRead {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// Half-close, graceful shutdown, bytes arriving (for the header timeout), an upgrade head.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HTTPBytesArrived {  // every read: first, and cheap
            if machine.awaitingHeadBytes { armHeaderTimer() }
            return
        }
        switch event {
        case let event as ChannelEvent where event == .inputClosed:
            run(machine.inputEnded())
        case is ChannelShouldQuiesceEvent:
            run(machine.drain())
        case is UpgradeHeadSeen:
            cancelHeaderTimer()
            machine.upgradeHeadSeen()
            return
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Bytes the decoder cannot take: a 431 or a 400, after the answers owed, then close.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as HTTPParserError where error == .headerOverflow:
            run(machine.invalidBytes(.headTooLarge))
        case is HTTPParserError, is HTTP1TypeConversionError:
            run(machine.invalidBytes(.notHTTP))
        case is NIOWebSocketUpgradeError:
            break  // the upgrader refused; the refusal is answered through refuseUpgrade(_:)
        default:
            context.close(promise: nil)
        }
    }

    /// Watches route responses for their ends: the next request may start, or the connection close.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if machine.holdsAnswers {
            held.append(.part(part, promise))
            if case .end = part {
                route = nil
                run(machine.answerEnded())
            }
            return
        }
        guard case .end = part else { return context.write(data, promise: promise) }
        route = nil
        let action = machine.answerEnded()
        guard case .close = action else {
            context.write(data, promise: promise)
            return run(action)
        }
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        context.write(data, promise: written)
    }

    // MARK: Called by the broker

    /// The upgrade on this connection was refused (NIO's upgrade handler kept its request):
    /// it is answered with `error`, then the connection closes.
    func refuseUpgrade(_ error: APIError) {
        cancelHeaderTimer()
        guard machine.answerUnseenRequest() else { return }
        writeAnswer(HTTPWire.encode(error.unroutedAnswer(closing: true)))
    }

    /// The route of request `id` parked its poll here.
    func routeParked(_ wait: PollWait, routes: PollRoutes, request id: UInt64) {
        guard id == requests, route?.request == id else { return routes.end(wait) }
        route = nil
        let action = machine.routeAnswered(.park)
        switch action {
        case .armParked, .abandonParkedAndClose:
            parked = Parked(wait: wait, routes: routes, generation: id)
            run(action)
        case .parkInTask:
            // Behind another parked poll: this one waits in a task of its own.
            let handler = NIOLoopBound(self, eventLoop: context?.eventLoop ?? wakeups!.loop)
            let dispatch = services.dispatch
            let channel = context?.channel
            guard let channel else { return routes.end(wait) }
            route = (Task { await dispatch.serveWaiting(wait, routes: routes, id: id, on: channel, handler: handler) }, id)
        default:
            routes.end(wait)  // the connection moved on without it
        }
    }

    /// The route of request `id` answers with a stream.
    func routeStreams(request id: UInt64) {
        guard id == requests else { return }
        run(machine.routeAnswered(.stream))
    }

    /// The route of streamed body `id` wants more of it.
    func bodyWanted(_ id: UInt64) {
        guard body?.request == id, machine.bodyWanted() else { return }
        resumeReading()
    }

    /// The route of streamed body `id` let go of it before its end: the rest is read and dropped.
    func bodyAbandoned(_ id: UInt64) {
        guard body?.request == id else { return }
        body = nil
        if machine.bodyAbandoned() { resumeReading() }
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
        let bytes: ByteBuffer
        do throws(EngineError) {
            guard let answer = try parked.routes.answer(&parked.wait, after: wake) else { return armParked() }
            parked.routes.record(answer)
            bytes = answer.wire ?? HTTPWire.encode(answer.head, body: answer.body)
        } catch {
            bytes = HTTPWire.encode(APIError(error).unroutedAnswer(closing: false))
        }
        self.parked = nil
        parked.routes.end(waiter: parked.wait.waiter, connection: parked.wait.connection)
        writeParkedAnswer(bytes)
    }

    /// Writes the parked poll's answer, then what was held behind it, and flushes; the
    /// last write closes the connection when that was its last answer.
    private func writeParkedAnswer(_ bytes: ByteBuffer) {
        guard let context, let encoderContext else { return }
        let action = machine.parkedAnswered()
        var closing: EventLoopPromise<Void>?
        if case .close = action {
            closing = context.eventLoop.makePromise(of: Void.self)
            closing?.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
        let held = self.held
        self.held = []
        encoderContext.write(NIOAny(IOData.byteBuffer(bytes)), promise: held.isEmpty ? closing : nil)
        for (index, write) in held.enumerated() {
            let last = index == held.count - 1
            switch write {
            case .part(let part, let promise):
                if last, let closing { promise.map { closing.futureResult.cascade(to: $0) } }
                context.write(wrapOutboundOut(part), promise: last && closing != nil ? closing : promise)
            case .encoded(let response):
                encoderContext.write(NIOAny(IOData.byteBuffer(response)), promise: last ? closing : nil)
            }
        }
        context.flush()
        if closing == nil {
            run(action)
        } else {
            updateBusy()
        }
    }

    // MARK: Actions

    private func run(_ action: HTTP1ConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .dispatch(let head, let body):
            dispatch(head, body: body, context: context)
        case .dispatchStreaming(let head, let first):
            requests &+= 1
            let (stream, source) = RequestBodyStream.make(for: NIOLoopBound(self, eventLoop: context.eventLoop), id: requests)
            body = (source, requests)
            startRoute(Request(head: head, body: stream), context: context)
            feed(first)
        case .feedBody(let chunk):
            feed(chunk)
        case .finishBody:
            body?.source.finish()
            body = nil
        case .failBody:
            body?.source.finish(ChannelError.eof)
            body = nil
        case .armParked:
            armParked()
        case .parkInTask:
            break  // see routeParked(_:routes:request:)
        case .abandonParkedAndClose:
            abandonParked()
            context.close(promise: nil)
        case .endStreamAndClose:
            route?.task.cancel()
            context.close(promise: nil)
        case .refuse(let refusal):
            writeAnswer(HTTPWire.encode(Self.error(for: refusal).unroutedAnswer(closing: true)))
        case .close:
            context.close(promise: nil)
        case .takeQueued:
            while let next = machine.nextQueued() { run(next) }
            run(machine.queueSettled())
            resumeReading()
        }
        updateBusy()
    }

    /// Runs a request read whole: a publish answered here, or its route.
    private func dispatch(_ head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        requests &+= 1
        if let publisher = services.publisher, let answer = publisher.answerWithoutSuspending(head, body: body, remote: context.channel.remoteAddress) {
            return writeAnswer(answer)
        }
        startRoute(Request(head: head, body: RequestBody(buffer: body)), context: context)
    }

    private func startRoute(_ request: Request, context: ChannelHandlerContext) {
        let id = requests
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        let dispatch = services.dispatch
        route = (Task { await dispatch.serve(request, id: id, on: channel, handler: handler) }, id)
    }

    private func feed(_ chunk: ByteBuffer) {
        guard let body else { return }
        switch body.source.yield(chunk) {
        case .produceMore: break
        case .stopProducing: machine.bodyBackedUp()
        case .dropped: bodyAbandoned(body.request)
        }
    }

    /// Writes a whole encoded answer below the encoder: the answer owed has ended. Flushed at
    /// the end of the read it came in, or now when it came from elsewhere (a woken poll).
    private func writeAnswer(_ bytes: ByteBuffer) {
        guard let context, let encoderContext else { return }
        if machine.holdsAnswers {
            held.append(.encoded(bytes))
            return run(machine.answerEnded())
        }
        let action = machine.answerEnded()
        if case .close = action {
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
            encoderContext.write(NIOAny(IOData.byteBuffer(bytes)), promise: written)
            context.flush()
            return updateBusy()
        }
        encoderContext.write(NIOAny(IOData.byteBuffer(bytes)), promise: nil)
        if reading {
            unflushed = true
        } else {
            context.flush()
        }
        run(action)
    }

    /// Leaves the parked poll's waiter on its topics, to call ``woken(_:)`` on this loop when it fires.
    private func armParked() {
        guard let parked, let wakeups else { return }
        let wakeup = LoopWakeups.Wakeup(handler: NIOLoopBound(self as any LoopWakeable, eventLoop: wakeups.loop), generation: parked.generation)
        parked.wait.waiter.onFire { wakeups.post(wakeup) }
        _ = parked.wait.reader.watchNow(parked.wait.waiter)
    }

    /// Gives back what a parked poll held, unanswered (and what was held behind it).
    private func abandonParked() {
        let held = self.held
        self.held = []
        for case .part(_, let promise) in held { promise?.fail(ChannelError.ioOnClosedChannel) }
        guard let parked else { return }
        self.parked = nil
        parked.wait.reader.unwatchNow(parked.wait.waiter)
        parked.routes.end(waiter: parked.wait.waiter, connection: parked.wait.connection)
    }

    private func resumeReading() {
        guard readHeld, machine.mayRead, let context else { return }
        readHeld = false
        context.read()
    }

    /// A head began to arrive now; the timer watches it.
    private func armHeaderTimer() {
        guard headStarted == nil, let context else { return }
        headStarted = connectedAt ?? context.eventLoop.now  // the loop's clock: a testing loop moves it by hand
        connectedAt = nil
        scheduleHeaderTimer()
    }

    /// The head arrived whole (or the connection moved on): nothing to watch.
    private func cancelHeaderTimer() {
        headStarted = nil
    }

    private func scheduleHeaderTimer() {
        guard headerTimer == nil, let headStarted, let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        headerTimer = context.eventLoop.scheduleTask(deadline: headStarted + services.headerTimeout) {
            handler.value.headerTimerFired()
        }
    }

    private func headerTimerFired() {
        headerTimer = nil
        guard let started = headStarted, let context else { return }
        guard context.eventLoop.now >= started + services.headerTimeout else { return scheduleHeaderTimer() }
        headStarted = nil
        run(machine.headerTimedOut())
    }

    /// Counts the connection busy (a request read or answered) or not, for the drain.
    private func updateBusy() {
        let now = !machine.isIdle && !machine.closed
        guard now != busy else { return }
        busy = now
        services.state.requestsInFlight(busy ? 1 : -1)
    }

    /// The channel is gone or the handler leaves: everything running on it ends.
    private func connectionEnded() {
        machine.channelClosed()
        cancelHeaderTimer()
        headerTimer?.cancel()
        headerTimer = nil
        body?.source.finish(ChannelError.ioOnClosedChannel)
        body = nil
        abandonParked()
        route?.task.cancel()
        route = nil
        updateBusy()
    }

    /// The error a refusal answers.
    static func error(for refusal: HTTP1ConnectionStateMachine.Refusal) -> APIError {
        switch refusal {
        case .notHTTP:
            APIError(.invalidRequest, message: "The request is not valid HTTP/1.1.")
        case .headTooLarge:
            APIError(.headerTooLarge, message: "The request head is over the limit of 64 KiB.")
        }
    }
}

@available(*, unavailable)
extension HTTP1ConnectionHandler: Sendable {}

/// Bytes reached the connection (sent ahead of the HTTP decoder by ``HTTPBytesSignal``), so a
/// request head may have begun: its timeout starts.
struct HTTPBytesArrived: Sendable {}

/// A request head was taken by the WebSocket upgrade machinery, not the connection handler.
struct UpgradeHeadSeen: Sendable {}

/// First in an HTTP connection's pipeline: says that bytes arrived, before the decoder reads
/// them, so that ``HTTP1ConnectionHandler`` can time request heads it has not seen yet.
final class HTTPBytesSignal: ChannelInboundHandler, RemovableChannelHandler {
    /// Raw bytes.
    typealias InboundIn = ByteBuffer

    /// Creates the signal.
    init() {}

    /// Signals, then passes the bytes on.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(HTTPBytesArrived())
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension HTTPBytesSignal: Sendable {}
