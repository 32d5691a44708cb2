import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// `GET /v1/sse`: a `text/event-stream` that follows several topics like a chain of polls.
///
/// The stream waits on a ``TopicWaiter`` between reads, so an idle stream holds no thread;
/// a repeating timer on the connection's event loop wakes it for heartbeats.
struct SSERoutes: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let access: AccessControl
    /// Refuses pages of origins that may not use the broker.
    let origins: OriginPolicy
    /// Bounds open connections (SSE counts with WebSocket).
    let connectionLimiter: ConnectionLimiter
    let heartbeat: Duration
    let metrics: BrokerMetrics
    let logger: Logger

    func register(on router: Router<BrokerRequestContext>) {
        router.get("/v1/sse") { request, context in try await stream(request, context) }
    }

    private func stream(_ request: Request, _ context: BrokerRequestContext) async throws -> Response {
        if !state.isDraining { try origins.admitStream(request) }
        let (principal, query) = try await ReadQuery.authorized(request, state: state, access: access, lastEventID: request.headers[.lastEventID])
        try connectionLimiter.admit(remote: context.remoteAddress)
        let timeToExpiry = principal.timeToExpiry
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no"]
        let remote = context.remoteAddress
        let eventLoop = context.eventLoop
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await run(query: query, remote: remote, timeToExpiry: timeToExpiry, eventLoop: eventLoop, writer: &writer)
        })
    }

    private func run(
        query: ReadQuery, remote: String, timeToExpiry: Duration?, eventLoop: any EventLoop, writer: inout any ResponseBodyWriter
    ) async throws {
        let waiter = TopicWaiter()
        let connection = Connection.reader(.sse, remote: remote, topics: query.topics, waiter: waiter)
        state.register(connection)
        connection.logOpened(logger)
        defer {
            state.unregister(connection)
            connection.logClosed(logger)
        }
        // The stream ends when its token expires, as a WebSocket is closed with 1008.
        let expiry = timeToExpiry.map { timeLeft in eventLoop.scheduleTask(in: TimeAmount(timeLeft)) { waiter.fire(closed: true) } }
        defer { expiry?.cancel() }
        let interval = TimeAmount(heartbeat)
        let timer = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in waiter.fire() }
        defer { timer.cancel() }

        let clock = ContinuousClock()
        var lastWrite = clock.now
        var reader = PollReader(engine: engine, query: query)
        try await writer.write(SSEFormat.opening)
        while true {
            let batch: PollBatch
            do {
                batch = try await reader.read(limit: query.limit)
            } catch {
                try await writer.write(SSEFormat.error(error))
                break
            }
            if !batch.isEmpty {
                let text = SSEFormat.render(batch)
                try await writer.write(text)
                record(batch, bytes: text.readableBytes)
                lastWrite = clock.now
                continue
            }
            let wake = await reader.wait(waiter)
            for topic in wake.deleted {
                try await writer.write(SSEFormat.deleted(topic))
                lastWrite = clock.now
            }
            if wake.closed { break }
            if clock.now - lastWrite >= heartbeat / 2 {
                try await writer.write(SSEFormat.heartbeat)
                lastWrite = clock.now
            }
        }
        try await writer.finish(nil)
    }
}

extension SSERoutes {
    /// Counts a written batch in the broker's metrics.
    func record(_ batch: PollBatch, bytes: Int) {
        metrics.delivered(transport: .sse, events: batch.events.count)
        metrics.sent(transport: .sse, encoding: .identity, bytes: bytes, uncompressedBytes: bytes)
        if let ts = batch.events.map(\.event.ts).min() { metrics.latency(transport: .sse, publishedAt: ts) }
        if !batch.gaps.isEmpty { metrics.gaps(batch.gaps.count) }
    }
}

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!
    static let xAccelBuffering = Self("X-Accel-Buffering")!
}
