import Logging
import Synchronization
import SwitchboardCore

/// What one WebSocket connection asks of the broker: its subscriptions and its requests.
///
/// The channel handler (``WebSocketConnectionHandler``) owns the socket; this is the part that
/// talks to the engine. With an engine that answers without suspending (``TopicEngine/immediate``)
/// each request is handled as it arrives, on the event loop. Otherwise requests are handled one
/// at a time in arrival order by a task that exists only while requests are pending: an idle
/// connection holds no task.
final class WebSocketSession: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    /// The connection's queue; the engine pushes frames into it.
    let subscriber: Subscriber
    let upgrade: UpgradeRequest
    let remote: String
    /// Who connected; every `subscribe` op is checked against it.
    let principal: Principal
    /// Checks the `subscribe` grant.
    let access: AccessControl
    let logger: Logger
    /// The registry's record of this connection.
    let connection: Connection

    /// Work for the request task.
    private enum Work: Sendable {
        case subscribeAtConnect([String])
        case request(String)
        case binaryMessage
    }

    private struct Pending: ~Copyable {
        var work: [Work] = []
        var running = false
        /// The connection closed: drop what is queued; whoever runs last removes the subscriber.
        var ended = false
        /// Called by the request task when it has handled everything queued.
        var whenIdle: @Sendable () -> Void = {}
    }

    /// What the request task does next.
    private enum Step {
        case handle(Work)
        case idle(@Sendable () -> Void)
        case ended
    }

    private let pending = Mutex(Pending())

    init(
        engine: any TopicEngine, state: BrokerState, subscriber: Subscriber, upgrade: UpgradeRequest, remote: String,
        principal: Principal, access: AccessControl, logger: Logger
    ) {
        self.engine = engine
        self.state = state
        self.subscriber = subscriber
        self.upgrade = upgrade
        self.remote = remote
        self.principal = principal
        self.access = access
        self.logger = logger
        self.connection = Connection(
            id: subscriber.id, transport: .ws, remote: remote,
            activity: { ConnectionActivity(subscriptions: subscriber.topics, queuedBytes: subscriber.queuedBytes, gaps: subscriber.slowGaps) },
            close: { code, reason in subscriber.close(code: code, reason: reason) }
        )
    }

    /// Registers the connection and subscribes to the topics named in the upgrade URL;
    /// `whenIdle` is called each time every queued request has been handled.
    func opened(whenIdle: @escaping @Sendable () -> Void) {
        pending.withLock { $0.whenIdle = whenIdle }
        state.register(connection)
        connection.logOpened(logger, ["zstd": "\(upgrade.zstd)", "principal": "\(principal.name)"])
        if !upgrade.topics.isEmpty { enqueue(.subscribeAtConnect(upgrade.topics)) }
    }

    /// Ends the connection's subscriptions and forgets it.
    func closed() {
        subscriber.finish()
        state.unregister(connection)
        connection.logClosed(logger)
        let idle = pending.withLock { pending -> Bool in
            pending.ended = true
            pending.work.removeAll()
            pending.whenIdle = {}  // it holds the channel handler, which holds this session
            return !pending.running
        }
        // A request being handled may still subscribe: then the request task removes after it.
        guard idle else { return }
        if let immediate = engine.immediate {
            immediate.removeNow(subscriber)
        } else {
            let (engine, subscriber) = (engine, subscriber)
            Task { await engine.remove(subscriber) }
        }
    }

    /// Requests waiting to be handled, including the one being handled.
    var pendingRequests: Int { pending.withLock { $0.work.count + ($0.running ? 1 : 0) } }

    /// Queues a text message from the client, handled after those before it.
    func received(_ text: String) {
        enqueue(.request(text))
    }

    /// Queues the refusal of a binary message, answered in order with the requests around it.
    func receivedBinary() {
        enqueue(.binaryMessage)
    }

    /// Handles `work` now when the engine answers without suspending (the in-memory engine:
    /// no task, and nothing is ever queued), else queues it for the request task.
    private func enqueue(_ work: Work) {
        if let immediate = engine.immediate {
            guard !pending.withLock({ $0.ended }) else { return }
            for call in calls(for: work) { perform(call, on: immediate) }
            return
        }
        let start = pending.withLock { pending -> Bool in
            guard !pending.ended else { return false }
            pending.work.append(work)
            defer { pending.running = true }
            return !pending.running
        }
        guard start else { return }
        Task {
            while true {
                let step = pending.withLock { pending -> Step in
                    if pending.ended || pending.work.isEmpty { pending.running = false }
                    if pending.ended { return .ended }
                    if pending.work.isEmpty { return .idle(pending.whenIdle) }
                    return .handle(pending.work.removeFirst())
                }
                switch step {
                case .handle(let work):
                    for call in calls(for: work) { await perform(call) }
                case .idle(let whenIdle):
                    whenIdle()
                    return
                case .ended:
                    await engine.remove(subscriber)
                    return
                }
            }
        }
    }

    /// What a piece of work asks of the engine, in order. Everything decided without the
    /// engine (a request that does not parse, a binary message, draining, a missing grant)
    /// is answered here.
    private func calls(for work: Work) -> [EngineCall] {
        switch work {
        case .subscribeAtConnect(let topics):
            return topics.compactMap { subscription(topic: $0, start: .live, id: nil) }
        case .binaryMessage:
            subscriber.send(.error(code: ContractError.binaryNotAccepted.code, message: "Requests are JSON text frames; binary frames are not accepted.", id: nil))
            return []
        case .request(let text):
            switch ClientRequest.parse(text, zstd: subscriber.zstd) {
            case .failure(let failure):
                subscriber.send(.error(code: failure.code, message: failure.message, id: failure.id))
                return []
            case .success((.subscribe(let topic, let start), let id)):
                return subscription(topic: topic, start: start, id: id).map { [$0] } ?? []
            case .success((.unsubscribe(let topic), let id)):
                return [.unsubscribe(topic: topic, id: id)]
            }
        }
    }

    /// The engine call of a `subscribe`, or nil when it is refused here (draining, or no grant).
    private func subscription(topic: String, start: StartPosition, id: MessageID?) -> EngineCall? {
        guard !state.isDraining else {
            subscriber.send(.error(code: ContractError.shuttingDown.code, message: "The broker is shutting down.", id: id))
            return nil
        }
        do throws(APIError) {
            try access.authorize(principal, .subscribe(topic))
        } catch {
            logger.info("subscribe refused", metadata: ["connection": "\(subscriber.id)", "remote": "\(remote)", "topic": "\(topic)", "code": "\(error.code)"])
            subscriber.send(.error(code: error.code, message: error.message, id: id))
            return nil
        }
        return .subscribe(topic: topic, start: start, id: id)
    }

    private func perform(_ call: EngineCall, on engine: any ImmediateTopicOperations) {
        do {
            switch call {
            case .subscribe(let topic, let start, let id): _ = try engine.subscribeNow(subscriber, topic: topic, from: start, id: id)
            case .unsubscribe(let topic, let id): try engine.unsubscribeNow(subscriber, topic: topic, id: id)
            }
        } catch {
            subscriber.send(.error(code: error.code, message: error.message, id: call.id))
        }
    }

    private func perform(_ call: EngineCall) async {
        do {
            switch call {
            case .subscribe(let topic, let start, let id): _ = try await engine.subscribe(subscriber, topic: topic, from: start, id: id)
            case .unsubscribe(let topic, let id): try await engine.unsubscribe(subscriber, topic: topic, id: id)
            }
        } catch {
            subscriber.send(.error(code: error.code, message: error.message, id: call.id))
        }
    }
}

/// A request's call into the engine, decided before it is made.
private enum EngineCall {
    case subscribe(topic: String, start: StartPosition, id: MessageID?)
    case unsubscribe(topic: String, id: MessageID?)

    /// The request's id, echoed on the engine's refusal.
    var id: MessageID? {
        switch self {
        case .subscribe(_, _, let id), .unsubscribe(_, let id): id
        }
    }
}
