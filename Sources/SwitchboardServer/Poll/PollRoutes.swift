import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SwitchboardCore

/// `GET /v1/poll` (long-poll over several topics) and `GET /v1/topics/{topic}/events` (history).
///
/// A waiting poll holds no thread: it leaves a ``TopicWaiter`` on its topics and suspends;
/// the next event, its timeout (a timer on the connection's event loop), a drain or an
/// operator fires it.
struct PollRoutes: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let access: AccessControl
    let pool: CompressorPool
    let waitingPolls: WaitingPolls
    let answers: PollAnswerCache
    let metrics: BrokerMetrics

    func register(on router: Router<BrokerRequestContext>) {
        router.get("/v1/poll") { request, context in try await poll(request, context) }
        router.get("/v1/topics/:topic/events") { request, context in try await history(request, context) }
    }

    private func poll(_ request: Request, _ context: BrokerRequestContext) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let principal = try await access.authenticate(request, allowQueryToken: true)
        let query = try ReadQuery(request.uri)
        for topic in query.topics {
            try access.authorize(principal, .subscribe(topic))
        }
        guard waitingPolls.enter() else {
            throw APIError(.tooManyRequests, code: "limit_reached", message: "The broker holds its maximum of \(waitingPolls.limit) waiting polls; try again shortly.")
        }
        defer { waitingPolls.leave() }

        let waiter = TopicWaiter()
        let connection = Connection.reader(.poll, remote: context.remoteAddress, topics: query.topics, waiter: waiter)
        state.register(connection)
        defer { state.unregister(connection) }
        let timeout = context.eventLoop.scheduleTask(in: TimeAmount(query.timeout)) { waiter.fire(closed: true) }
        defer { timeout.cancel() }

        var reader = PollReader(engine: engine, query: query)
        let acceptEncoding = request.headers[.acceptEncoding]
        do throws(EngineError) {
            var batch = try await reader.read(limit: query.limit)
            while batch.isEmpty {
                let wake = await reader.wait(waiter)
                if wake.closed {
                    batch = try await reader.read(limit: query.limit)
                    break
                }
                // Woken by a publish: polls waiting at the same position share one answer.
                let key = "\(reader.cursor?.encoded() ?? "")|\(query.limit)|\(HTTPCompression.negotiate(acceptEncoding).rawValue)"
                if let shared = answers.lookup(key) { return response(shared) }
                batch = try await reader.read(limit: query.limit)
                if !batch.isEmpty {
                    let answer = encode(batch, acceptEncoding: acceptEncoding)
                    answers.store(answer, for: key)
                    return response(answer)
                }
            }
            return response(encode(batch, acceptEncoding: acceptEncoding))
        } catch {
            throw APIError(error)
        }
    }

    private func encode(_ batch: PollBatch, acceptEncoding: String?) -> PollAnswerCache.Answer {
        let json = EventJSON.pollAnswer(batch)
        let (coding, body) = HTTPCompression.encode(json, acceptEncoding: acceptEncoding, pool: pool)
        return PollAnswerCache.Answer(
            body: body, coding: coding, uncompressedBytes: json.readableBytes, events: batch.events.count,
            gaps: batch.gaps.count, oldestTimestamp: batch.events.map(\.event.ts).min()
        )
    }

    /// The response for an answer, counted as sent.
    private func response(_ answer: PollAnswerCache.Answer) -> Response {
        metrics.delivered(transport: .poll, events: answer.events)
        metrics.sent(transport: .poll, encoding: BrokerMetrics.Encoding(answer.coding), bytes: answer.body.readableBytes, uncompressedBytes: answer.uncompressedBytes)
        if let ts = answer.oldestTimestamp { metrics.latency(transport: .poll, publishedAt: ts) }
        if answer.gaps > 0 { metrics.gaps(answer.gaps) }
        return HTTPCompression.response(answer.body, coding: answer.coding)
    }

    private func history(_ request: Request, _ context: BrokerRequestContext) async throws -> Response {
        let principal = try await access.authenticate(request, allowQueryToken: true)
        let topic = context.parameters.get("topic") ?? ""
        guard TopicName.isValid(topic) else { throw APIError(.invalidTopic(topic)) }
        let parameters = request.uri.queryParameters
        var since: UInt64 = 0
        if let text = parameters.get("since") {
            guard let value = UInt64(text) else {
                throw APIError(.badRequest, code: "invalid_request", message: "since must be a whole number from 0, not '\(text.prefix(40))'.")
            }
            since = value
        }
        let limit = try ReadQuery.integer(parameters.get("limit"), name: "limit", range: 1...ReadQuery.maxLimit) ?? 100
        try access.authorize(principal, .subscribe(topic))
        do throws(EngineError) {
            let read = try await engine.read(topic: topic, from: .since(since, epoch: nil), limit: limit, create: false)
            return HTTPCompression.jsonResponse(EventJSON.historyAnswer(topic: topic, read: read), acceptEncoding: request.headers[.acceptEncoding], pool: pool)
        } catch {
            throw APIError(error)
        }
    }
}

/// Counts the polls waiting now against the process's limit.
final class WaitingPolls: Sendable {
    /// The most polls that may wait at once.
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Polls waiting now.
    var current: Int { count.load(ordering: .relaxed) }

    /// Takes a place; false when the limit is reached.
    func enter() -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives a place back.
    func leave() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}
