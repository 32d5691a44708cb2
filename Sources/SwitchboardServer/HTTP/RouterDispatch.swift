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
