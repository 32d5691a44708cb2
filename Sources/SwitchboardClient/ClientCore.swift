import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import SwitchboardCore

/// Something the connection's writer sends.
enum Outgoing: Sendable {
    /// A control op (text frame).
    case text(String)
    /// Close the connection with this code.
    case close(WebSocketErrorCode, reason: String)
}

/// The client's shared state behind one lock: the connection machine, every subscription's
/// resume state, pending requests, and the writer of the current connection. Messages from the
/// broker are handled here, synchronously, in the order they arrive.
final class ClientCore: Sendable {
    /// One subscription the application holds.
    struct Entry {
        let subscription: SwitchboardClient.Subscription
        var resume: ResumeState
        /// The connection the `subscribe` op went out on.
        var sentGeneration: Int?
        /// The connection the broker confirmed it on: its frames and gaps count only then.
        var activeGeneration: Int?
    }

    /// A request waiting for its answer, by `id`.
    enum Pending {
        case subscribe(SwitchboardClient.Subscription)
        case unsubscribe(CheckedContinuation<Void, Never>)
    }

    struct State {
        var machine: ConnectionMachine
        var entries: [String: Entry] = [:]
        var pending: [Int: Pending] = [:]
        var nextID = 1
        var generation: Int?
        /// A connection that sent an undecodable frame: nothing more of it is believed (its events
        /// come again after the reconnection, from the last one delivered).
        var distrusted: Int?
        var outbound: AsyncStream<Outgoing>.Continuation?
        var watchers: [Int: AsyncStream<SwitchboardClient.ConnectionState>.Continuation] = [:]
        var nextWatcher = 0
        var runTask: Task<Void, Never>?
        var decompressor: ZstdDecompressor?
    }

    let state: Mutex<State>
    let logger: Logger

    init(machine: ConnectionMachine, logger: Logger) {
        self.state = Mutex(State(machine: machine))
        self.logger = logger
    }

    // MARK: state

    /// Runs `body` on the state; tells the watchers when the public state changed.
    @discardableResult
    func update<T>(_ body: (inout State) -> T) -> T {
        state.withLock { state in
            let before = state.machine.state
            let result = body(&state)
            let after = state.machine.state
            if before != after {
                for watcher in state.watchers.values {
                    watcher.yield(after)
                    if after == .closed { watcher.finish() }
                }
                if after == .closed { state.watchers.removeAll() }
            }
            return result
        }
    }

    var connectionState: SwitchboardClient.ConnectionState { state.withLock { $0.machine.state } }

    var error: SwitchboardError? {
        state.withLock { if case .closed(let error) = $0.machine.phase { error } else { nil } }
    }

    func states() -> AsyncStream<SwitchboardClient.ConnectionState> {
        let (stream, continuation) = AsyncStream.makeStream(of: SwitchboardClient.ConnectionState.self)
        state.withLock { state in
            continuation.yield(state.machine.state)
            if state.machine.isClosed {
                continuation.finish()
                return
            }
            let key = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[key] = continuation
        }
        return stream
    }

    // MARK: subscriptions

    /// Registers `subscription`; returns false (and ends it) when that is not possible.
    func add(_ subscription: SwitchboardClient.Subscription, resume: ResumeState) {
        state.withLock { state in
            if case .closed(let error) = state.machine.phase {
                subscription.continuation.finish(throwing: error ?? SwitchboardError.clientClosed)
                return
            }
            if state.entries[subscription.topic] != nil {
                subscription.continuation.finish(throwing: SwitchboardError.alreadySubscribed(topic: subscription.topic))
                return
            }
            state.entries[subscription.topic] = Entry(subscription: subscription, resume: resume)
            if let generation = state.generation { Self.sendSubscribe(topic: subscription.topic, generation: generation, &state) }
        }
        subscription.continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abandon(subscription) }
        }
    }

    private static func sendSubscribe(topic: String, generation: Int, _ state: inout State) {
        guard var entry = state.entries[topic], entry.sentGeneration != generation else { return }
        let id = state.nextID
        state.nextID += 1
        entry.sentGeneration = generation
        let request = entry.resume.request()
        state.entries[topic] = entry
        state.pending[id] = .subscribe(entry.subscription)
        state.outbound?.yield(.text(ClientOp.subscribe(request, id: id)))
    }

    func unsubscribe(_ subscription: SwitchboardClient.Subscription) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let waiting: Int? = state.withLock { state in
                guard let entry = state.entries[subscription.topic], entry.subscription === subscription else { return nil }
                state.entries[subscription.topic] = nil
                guard let generation = state.generation, entry.sentGeneration == generation, let outbound = state.outbound else {
                    return nil
                }
                let id = state.nextID
                state.nextID += 1
                state.pending[id] = .unsubscribe(done)
                outbound.yield(.text(ClientOp.unsubscribe(topic: subscription.topic, id: id)))
                return id
            }
            if let id = waiting {
                // The broker answers at once; a connection that dies meanwhile resumes it too.
                Task {
                    try? await Task.sleep(for: .seconds(5))
                    self.resumePending(id)
                }
            } else {
                done.resume()
            }
        }
        subscription.continuation.finish()
    }

    /// Iteration was left: forget the subscription at once (so its topic can be subscribed again
    /// right away) and tell the broker without waiting for its answer.
    func abandon(_ subscription: SwitchboardClient.Subscription) {
        state.withLock { state in
            guard let entry = state.entries[subscription.topic], entry.subscription === subscription else { return }
            state.entries[subscription.topic] = nil
            guard let generation = state.generation, entry.sentGeneration == generation else { return }
            let id = state.nextID
            state.nextID += 1
            state.outbound?.yield(.text(ClientOp.unsubscribe(topic: subscription.topic, id: id)))
        }
        subscription.continuation.finish()
    }

    private func resumePending(_ id: Int) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard case .unsubscribe(let done)? = state.pending[id] else { return nil }
            state.pending[id] = nil
            return done
        }
        waiter?.resume()
    }

    // MARK: the connection

    /// The connection of `attempt` is up: returns its generation and sends every subscription's
    /// request, or `nil` when the client was closed or gave that attempt up meanwhile.
    func attach(_ outbound: AsyncStream<Outgoing>.Continuation, attempt: Int) -> Int? {
        update { state in
            guard let generation = state.machine.connected(attempt: attempt) else { return nil }
            state.generation = generation
            state.outbound = outbound
            state.decompressor = state.decompressor ?? (try? ZstdDecompressor())
            for topic in state.entries.keys.sorted() { Self.sendSubscribe(topic: topic, generation: generation, &state) }
            return generation
        }
    }

    /// The connection `generation` ended: forget what only held on it.
    func detach(_ generation: Int) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard state.generation == generation else { return [] }
            state.generation = nil
            state.distrusted = nil
            state.outbound?.finish()
            state.outbound = nil
            for topic in state.entries.keys {
                state.entries[topic]?.activeGeneration = nil
                state.entries[topic]?.sentGeneration = nil
            }
            var waiters: [CheckedContinuation<Void, Never>] = []
            for (id, pending) in state.pending {
                if case .unsubscribe(let done) = pending { waiters.append(done) }
                state.pending[id] = nil
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Ends every subscription (with `error`, or normally) once the client is closed.
    func finishAll(_ error: SwitchboardError?) {
        let subscriptions = state.withLock { state in
            let subscriptions = state.entries.values.map(\.subscription)
            state.entries.removeAll()
            return subscriptions
        }
        for subscription in subscriptions {
            if let error { subscription.continuation.finish(throwing: error) } else { subscription.continuation.finish() }
        }
    }

    // MARK: messages from the broker

    /// Handles one control message of connection `generation`.
    func received(text: String, generation: Int) {
        guard let message = BrokerMessage.parse(text) else {
            logger.warning("control message is not JSON", metadata: ["text": "\(text.prefix(200))"])
            return
        }
        var resumeWaiter: CheckedContinuation<Void, Never>?
        var retry: String?
        state.withLock { state in
            guard state.generation == generation, state.distrusted != generation else { return }
            let pending = message.id.flatMap { state.pending.removeValue(forKey: $0) }
            switch message.type {
            case "subscribed":
                let subscription: SwitchboardClient.Subscription?
                if case .subscribe(let asked)? = pending { subscription = asked } else { subscription = message.topic.flatMap { state.entries[$0]?.subscription } }
                guard let subscription, var entry = state.entries[subscription.topic], entry.subscription === subscription else { return }
                let items = entry.resume.subscribed(epoch: message.epoch ?? "", newest: message.seq ?? 0, reset: message.reset ?? false)
                entry.activeGeneration = generation
                state.entries[subscription.topic] = entry
                if items.isEmpty {
                    subscription.continuation.yield(.position(entry.resume.position))
                } else {
                    Self.deliver(items, entry)
                }
            case "unsubscribed":
                if case .unsubscribe(let done)? = pending { resumeWaiter = done }
            case "gap":
                guard let topic = message.topic, let from = message.from, let to = message.to,
                    var entry = state.entries[topic], entry.activeGeneration == generation
                else { return }
                let item = entry.resume.gap(from: from, to: to)
                state.entries[topic] = entry
                Self.deliver(item.map { [$0] } ?? [], entry)
            case "reset":
                guard let topic = message.topic, var entry = state.entries[topic], entry.activeGeneration == generation else { return }
                let item = entry.resume.reset(epoch: message.epoch ?? "")
                state.entries[topic] = entry
                Self.deliver([item], entry)
            case "deleted":
                guard let topic = message.topic, let entry = state.entries.removeValue(forKey: topic) else { return }
                Self.deliver([.deleted(topic: topic)], entry)
                entry.subscription.continuation.finish()
            case "error":
                let error = SwitchboardError.broker(code: message.code ?? "error", message: message.message ?? "", status: nil, index: nil)
                switch pending {
                case .subscribe(let failed)? where message.code == "engine_unavailable":
                    // The broker's engine (Redis) is away for now: ask again in a moment.
                    guard state.entries[failed.topic]?.subscription === failed else { return }
                    state.entries[failed.topic]?.sentGeneration = nil
                    retry = failed.topic
                case .subscribe(let failed)?:
                    if state.entries[failed.topic]?.subscription === failed { state.entries[failed.topic] = nil }
                    failed.continuation.finish(throwing: error)
                case .unsubscribe(let done)?:
                    resumeWaiter = done  // not_subscribed: it is gone either way
                case nil:
                    logger.warning("broker error", metadata: ["error": "\(error)"])
                }
            default:
                logger.debug("ignoring control message", metadata: ["type": "\(message.type)"])
            }
        }
        resumeWaiter?.resume()
        if let retry {
            Task {
                try? await Task.sleep(for: Self.engineRetryDelay)
                self.state.withLock { state in
                    if state.generation == generation { Self.sendSubscribe(topic: retry, generation: generation, &state) }
                }
            }
        }
    }

    /// How long to wait before subscribing again after `engine_unavailable`.
    static let engineRetryDelay: Duration = .milliseconds(500)

    /// Handles one binary frame of connection `generation`; false when it cannot be decoded
    /// (nothing of it was delivered, so reconnecting and resuming gets its events again).
    func received(binary: ByteBuffer, generation: Int) -> Bool {
        state.withLock { state in
            guard state.generation == generation, state.distrusted != generation else { return true }
            guard let decompressor = state.decompressor,
                let frame = try? EventFrame.decode(binary, decompressor: decompressor)
            else {
                logger.warning("undecodable frame", metadata: ["bytes": "\(binary.readableBytes)"])
                state.distrusted = generation
                return false
            }
            guard var entry = state.entries[frame.topic], entry.activeGeneration == generation else { return true }
            let items = entry.resume.events(frame.events.map { ($0.seq, $0.ts, $0.payload) })
            state.entries[frame.topic] = entry
            Self.deliver(items, entry)
            return true
        }
    }

    /// Hands `items` to the subscription, each with the position after it (one call holds one
    /// epoch: a reset is always the first item of its call).
    private static func deliver(_ items: [SwitchboardClient.Item], _ entry: Entry) {
        let final = entry.resume.position
        for item in items {
            var position = final
            switch item {
            case .event(let event): position.seq = event.seq
            case .gap(let gap): position.seq = gap.to
            case .reset: position.seq = 0
            case .deleted: break
            }
            entry.subscription.continuation.yield(.item(item, position))
        }
    }
}
