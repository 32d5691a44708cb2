import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Runs Hummingbird's router for one request, in a task of its own that ends with the
/// response, and writes the response on the request's channel.
///
/// This is what Hummingbird's `Application` and `HTTPChannelHandler.handleHTTP` do for a
/// connection, done per request instead (see ``RouterDispatchHandler``): an error the router
/// lets through is a 500 with an empty body, every response gets a `Date`, and each request
/// logs with its own `hb.request.id`. Written here because Hummingbird's response writer
/// only writes to a `NIOAsyncChannel`, which would hold a task per connection again.
struct RouterDispatch: Sendable {
    /// The router, with its middleware.
    let responder: RouterResponder<BrokerRequestContext>
    let logger: Logger

    /// Answers `request`, which arrived on `channel`. A response that cannot be written
    /// (the client went away, a stream failed half-way) closes the connection.
    func serve(_ request: Request, on channel: any Channel) async {
        var logger = self.logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let context = BrokerRequestContext(source: .init(channel: channel, logger: logger))
        var response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
            response = Response(status: .internalServerError, body: .init())
        }
        response.headers[.date] = HTTPDate.now
        do {
            try await response.body.write(ChannelResponseWriter(channel: channel, head: response.head))
        } catch {
            logger.trace("Failed to write a response", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }
}

/// Writes a response's parts to its channel: the head goes with the first body part (or the
/// end), each write is flushed, and a write waits for the socket only while the channel is
/// not writable, so a slow reader slows its stream down rather than filling memory.
struct ChannelResponseWriter: ResponseBodyWriter {
    let channel: any Channel
    /// The head, until it is written.
    private var head: HTTPResponse?

    /// A writer for the response that starts with `head`.
    init(channel: any Channel, head: HTTPResponse) {
        self.channel = channel
        self.head = head
    }

    /// Writes `buffer` as a body part, after the head when it is the first.
    mutating func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        let written = send(.body(buffer))
        if !channel.isWritable { try await written.get() }
    }

    /// Ends the response, with the head when no body part was written.
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        _ = send(.end(trailingHeaders))
    }

    /// Writes `part` (after the head, if it is still to go) and flushes, in one trip to the
    /// channel's event loop.
    private mutating func send(_ part: HTTPResponsePart) -> EventLoopFuture<Void> {
        let head = self.head
        self.head = nil
        let channel = self.channel
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            if let head { channel.write(HTTPResponsePart.head(head), promise: nil) }
            channel.writeAndFlush(part, promise: promise)
        }
        return promise.futureResult
    }
}
