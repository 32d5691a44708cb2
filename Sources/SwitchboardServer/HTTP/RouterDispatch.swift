import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// What a route answers a request with; never a placeholder.
enum RouteResult: Sendable {
    /// A response. One of unknown length (an SSE stream) is written as it comes.
    case response(Response)
    /// A poll that found nothing: its connection keeps it until its waiter fires.
    case park(PollWait)
}

/// Runs the routes for one request, in a task of its own that ends with the answer, and
/// writes the answer on the request's channel or hands a parked poll to its connection.
///
/// A `GET /v1/poll` goes to ``PollRoutes`` directly, which may park it; everything else goes
/// through Hummingbird's router and its middleware. This does what Hummingbird's
/// `Application` and `HTTPChannelHandler.handleHTTP` do per connection, per request instead:
/// an error the routes let through is a 500 with an empty body, every response gets a `Date`,
/// and each request logs with its own `hb.request.id`. (Hummingbird's response writer only
/// writes to a `NIOAsyncChannel`, which would hold a task per connection.)
struct RouterDispatch: Sendable {
    /// The router, with its middleware.
    let responder: RouterResponder<BrokerRequestContext>
    /// The long-poll route, which may park.
    let polls: PollRoutes
    /// What answers say to browsers of other origins.
    let origins: OriginPolicy
    let logger: Logger

    /// What the routes answer `request`, with the CORS fields an allowed `Origin` gets.
    func route(_ request: Request, context: BrokerRequestContext) async -> RouteResult {
        let origin = request.headers[.origin]
        if request.method == .options { return .response(origins.preflight(origin: origin)) }
        guard let cors = origins.fields(origin: origin) else { return await routeWithoutCORS(request, context: context, mayPark: true) }
        // A poll parked on its connection is answered with bytes shared by every poll at its
        // position; a browser's poll of another origin waits in its task, so it gets its own fields.
        switch await routeWithoutCORS(request, context: context, mayPark: false) {
        case .response(var response):
            // A route that is public to every origin (the JavaScript client, `*`) keeps its own answer.
            if response.headers[.accessControlAllowOrigin] == nil { response.headers.append(contentsOf: cors) }
            return .response(response)
        case .park(let wait):
            return .park(wait)
        }
    }

    private func routeWithoutCORS(_ request: Request, context: BrokerRequestContext, mayPark: Bool) async -> RouteResult {
        do {
            if request.method == .get, request.uri.path == "/v1/poll" {
                do {
                    // What the router's StrictQueryMiddleware does for every other route.
                    try QueryParameters.check(request.uri, defined: QueryParameters.poll)
                    switch try await polls.poll(request, context, mayPark: mayPark) {
                    case .answer(let response): return .response(response)
                    case .park(let wait): return .park(wait)
                    }
                } catch let error as APIError {
                    RejectionLogMiddleware<BrokerRequestContext>.logRejection(error, of: request, remote: context.remoteAddress, logger: context.logger)
                    return .response(error.httpResponse)
                }
            }
            return .response(try await responder.respond(to: request, context: context))
        } catch {
            context.logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
            return .response(Response(status: .internalServerError, body: .init()))
        }
    }

    /// Answers `request`, the `id`th of its connection, which arrived on `channel`: the
    /// handler learns what the answer is, and a response is written. A response that cannot
    /// be written (the client went away, a stream failed half-way) closes the connection.
    func serve(_ request: Request, id: UInt64, on channel: any Channel, handler: NIOLoopBound<HTTP1ConnectionHandler>) async {
        var logger = self.logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let context = BrokerRequestContext(source: .init(channel: channel, logger: logger))
        switch await route(request, context: context) {
        case .park(let wait):
            let polls = self.polls
            handler.eventLoop.execute { handler.value.routeParked(wait, routes: polls, request: id) }
        case .response(let response):
            await write(response, id: id, on: channel, handler: handler, logger: logger)
        }
    }

    /// Answers a poll that could not park (another is parked on its connection) from its task.
    func serveWaiting(_ wait: PollWait, routes: PollRoutes, id: UInt64, on channel: any Channel, handler: NIOLoopBound<HTTP1ConnectionHandler>) async {
        let response: Response
        do throws(APIError) {
            response = try await routes.waitInTask(wait)
        } catch {
            response = error.httpResponse
        }
        await write(response, id: id, on: channel, handler: handler, logger: logger)
    }

    private func write(_ response: Response, id: UInt64, on channel: any Channel, handler: NIOLoopBound<HTTP1ConnectionHandler>, logger: Logger) async {
        var response = response
        response.headers[.date] = HTTPDate.now
        if response.body.contentLength == nil {
            handler.eventLoop.execute { handler.value.routeStreams(request: id) }
        }
        do {
            let writer = ChannelResponseWriter(channel: channel, head: response.head, contentLength: response.body.contentLength)
            try await response.body.write(writer)
        } catch {
            logger.trace("Failed to write a response", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }
}

/// Writes a response's parts to its channel.
///
/// A body of known length (every answer but an SSE stream) is in memory already: its parts
/// are kept and written with the head and the end in one trip to the event loop and one
/// flush, as Hummingbird's own writer does. A body of unknown length is a stream: each part
/// is flushed as it comes (the head with the first), and a write waits for the socket only
/// while the channel is not writable, so a slow reader slows its stream down rather than
/// filling memory.
struct ChannelResponseWriter: ResponseBodyWriter {
    let channel: any Channel
    /// Flush each part as it comes (a stream), or keep them for ``finish(_:)``.
    let streams: Bool
    /// What is still to be written, the head first.
    private var unsent: [HTTPResponsePart]

    /// A writer for the response that starts with `head`; `contentLength` nil means a stream.
    init(channel: any Channel, head: HTTPResponse, contentLength: Int?) {
        self.channel = channel
        self.streams = contentLength == nil
        self.unsent = [.head(head)]
    }

    /// Writes `buffer` as a body part (a stream's at once; otherwise with the end).
    mutating func write(_ buffer: ByteBuffer) async throws {
        unsent.append(.body(buffer))
        guard streams else { return }
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        let written = send()
        if !channel.isWritable { try await written.get() }
    }

    /// Ends the response, writing whatever is still unsent.
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        unsent.append(.end(trailingHeaders))
        _ = send()
    }

    /// Writes the unsent parts and flushes, in one trip to the channel's event loop.
    private mutating func send() -> EventLoopFuture<Void> {
        let parts = unsent
        unsent = []
        let channel = self.channel
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            for part in parts.dropLast() { channel.write(part, promise: nil) }
            channel.writeAndFlush(parts[parts.count - 1], promise: promise)
        }
        return promise.futureResult
    }
}
