import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SwitchboardCore

/// `GET /v1/poll` (long-poll over several topics) and `GET /v1/topics/{topic}/events` (history).
///
/// A waiting poll holds no thread and, normally, no task: the route checks the request, reads
/// once and, finding nothing, answers ``PollOutcome/park(_:)``, and its connection
/// (``HTTP1ConnectionHandler``) keeps it, leaving a ``TopicWaiter`` on its topics and its
/// deadline in ``ReaderTimeouts``. The next event, the timeout, a drain or an operator fires
/// the waiter, and the answer is read, encoded (once for every poll at the same position) and
/// written on the connection's event loop. Where it cannot park (a `HEAD`, or an engine whose
/// reads suspend), the route waits in its task and answers the same way.
struct PollRoutes: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let access: AccessControl
    let pool: CompressorPool
    let waitingPolls: WaitingPolls
    let answers: PollAnswerCache
    let metrics: BrokerMetrics
    /// The deadlines of waiting polls.
    let timeouts: ReaderTimeouts

    /// What a poll request comes to.
    enum PollOutcome: Sendable {
        /// An answer now (something was there, or the poll waited in its task).
        case answer(Response)
        /// Nothing yet: the connection keeps the poll until its waiter fires.
        case park(PollWait)
    }

    /// Adds the routes to `router`. (A `GET /v1/poll` is taken before the router by
    /// ``RouterDispatch``, which may park it; the router's route answers the rest, `HEAD`.)
    func register(on router: Router<BrokerRequestContext>) {
        router.get("/v1/poll") { request, context in
            switch try await poll(request, context, mayPark: false) {
            case .answer(let response): return response
            case .park: throw APIError(.internalError, message: "A poll that may not park was parked.")
            }
        }
        router.get("/v1/topics/:topic/events") { request, context in try await history(request, context) }
    }

    /// Answers a poll, or with `mayPark` (and an engine that reads without suspending) hands
    /// back a poll that found nothing, to be parked on its connection.
    func poll(_ request: Request, _ context: BrokerRequestContext, mayPark: Bool) async throws -> PollOutcome {
        let (_, query) = try await ReadQuery.authorized(request, state: state, access: access)
        guard waitingPolls.enter() else {
            throw APIError(.limitReached, message: "The broker holds its maximum of \(waitingPolls.limit) waiting polls; try again shortly.")
        }
        let waiter = TopicWaiter()
        let connection = Connection.reader(.poll, remote: context.remoteAddress, topics: query.topics, waiter: waiter)
        state.register(connection)
        var wait = PollWait(
            reader: PollReader(engine: engine, query: query), waiter: waiter, connection: connection, limit: query.limit,
            acceptEncoding: request.headers[.acceptEncoding]
        )
        do throws(EngineError) {
            let batch = wait.reader.canReadNow ? try wait.reader.readNow(limit: query.limit) : try await wait.reader.read(limit: query.limit)
            guard batch.isEmpty else {
                end(wait)
                return .answer(response(encode(batch, acceptEncoding: wait.acceptEncoding, wire: false)))
            }
            wait.key = sharingKey(wait)
            timeouts.add(waiter, deadline: .now() + TimeAmount(query.timeout), loop: context.eventLoop)
            if mayPark, wait.reader.canReadNow { return .park(wait) }
        } catch {
            end(wait)
            throw APIError(error)
        }
        return .answer(try await waitInTask(wait))
    }

    /// Waits in the calling task until `wait`'s waiter fires with something to answer, and answers.
    func waitInTask(_ wait: PollWait) async throws(APIError) -> Response {
        var wait = wait
        do throws(EngineError) {
            while true {
                let wake = await wait.reader.wait(wait.waiter)
                if let answer = try await answerInTask(&wait, after: wake) {
                    end(wait)
                    return response(answer)
                }
            }
        } catch {
            end(wait)
            throw APIError(error)
        }
    }

    /// What follows a wake-up of `wait`, read without suspending (a parked poll, on its event
    /// loop): the answer to send, or nil when there is nothing new yet and the poll waits
    /// again. Polls woken by a publish at the same position share one answer.
    func answer(_ wait: inout PollWait, after wake: TopicWaiter.Wake) throws(EngineError) -> PollAnswerCache.Answer? {
        if !wake.closed, let shared = answers.lookup(wait.key) { return shared }
        return settle(&wait, try wait.reader.readNow(limit: wait.limit), closed: wake.closed)
    }

    /// ``answer(_:after:)`` for a poll waiting in its task, whatever the engine.
    private func answerInTask(_ wait: inout PollWait, after wake: TopicWaiter.Wake) async throws(EngineError) -> PollAnswerCache.Answer? {
        if !wake.closed, let shared = answers.lookup(wait.key) { return shared }
        return settle(&wait, try await wait.reader.read(limit: wait.limit), closed: wake.closed)
    }

    /// The answer a read after a wake-up gives: a closed poll answers what it has; an open one
    /// answers something new (shared with the polls at the same position) or waits again.
    private func settle(_ wait: inout PollWait, _ batch: PollBatch, closed: Bool) -> PollAnswerCache.Answer? {
        if closed { return encode(batch, acceptEncoding: wait.acceptEncoding, wire: true) }
        guard !batch.isEmpty else {
            wait.key = sharingKey(wait)
            return nil
        }
        let answer = encode(batch, acceptEncoding: wait.acceptEncoding, wire: true)
        answers.store(answer, for: wait.key)
        return answer
    }

    /// Gives back what a poll held: its deadline, its registration, its place among the waiting polls.
    func end(_ wait: PollWait) {
        end(waiter: wait.waiter, connection: wait.connection)
    }

    /// ``end(_:)`` by the parts it needs, so a parked poll is not copied to end it.
    func end(waiter: TopicWaiter, connection: Connection) {
        timeouts.cancel(waiter)
        state.unregister(connection)
        waitingPolls.leave()
    }

    /// The key under which polls at the reader's position, limit and coding share an answer.
    private func sharingKey(_ wait: PollWait) -> String {
        "\(wait.reader.cursor?.encoded() ?? "")|\(wait.limit)|\(HTTPCompression.negotiate(wait.acceptEncoding).rawValue)"
    }

    /// Encodes a batch as an answer, compressed as `acceptEncoding` allows; with `wire`, also
    /// as the whole response's bytes, for an answer a parked poll may write (a woken poll's).
    private func encode(_ batch: PollBatch, acceptEncoding: String?, wire: Bool) -> PollAnswerCache.Answer {
        let json = EventJSON.pollAnswer(batch)
        let (coding, body) = HTTPCompression.encode(json, acceptEncoding: acceptEncoding, pool: pool)
        var head = HTTPCompression.response(body, coding: coding).head
        if wire { head.headerFields[.date] = HTTPDate.now }
        return PollAnswerCache.Answer(
            head: head, wire: wire ? HTTPWire.encode(head, body: body) : nil, body: body, coding: coding, uncompressedBytes: json.readableBytes, events: batch.events.count,
            gaps: batch.gaps.count, oldestTimestamp: batch.events.map(\.event.ts).min()
        )
    }

    /// Counts an answer as sent.
    func record(_ answer: PollAnswerCache.Answer) {
        metrics.delivered(transport: .poll, events: answer.events)
        metrics.sent(transport: .poll, encoding: BrokerMetrics.Encoding(answer.coding), bytes: answer.body.readableBytes, uncompressedBytes: answer.uncompressedBytes)
        if let ts = answer.oldestTimestamp { metrics.latency(transport: .poll, publishedAt: ts) }
        if answer.gaps > 0 { metrics.gaps(answer.gaps) }
    }

    /// The response for an answer, counted as sent.
    private func response(_ answer: PollAnswerCache.Answer) -> Response {
        record(answer)
        return HTTPCompression.response(answer.body, coding: answer.coding)
    }

    private func history(_ request: Request, _ context: BrokerRequestContext) async throws -> Response {
        let principal = try await access.authenticate(request, allowQueryToken: true)
        let topic = context.parameters.get("topic") ?? ""
        guard TopicName.isValid(topic) else { throw APIError.invalidTopic(inPath: topic) }
        let parameters = request.uri.queryParameters
        var since: UInt64 = 0
        if let text = parameters.get("since") {
            guard let value = UInt64(text) else {
                throw APIError(.invalidRequest, message: "since must be a whole number from 0, not '\(text.prefix(40))'.")
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

/// A poll that found nothing and waits: what it needs to be answered when its waiter fires.
struct PollWait: Sendable {
    /// Its position in each topic.
    var reader: PollReader
    /// Fired by its topics, its timeout, a drain or an operator.
    let waiter: TopicWaiter
    /// Its entry in the connection registry.
    let connection: Connection
    /// The most events in its answer.
    let limit: Int
    /// The request's `Accept-Encoding`.
    let acceptEncoding: String?
    /// The key under which polls at the same position share an answer (see ``PollRoutes/answer(_:after:)``).
    var key = ""
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
