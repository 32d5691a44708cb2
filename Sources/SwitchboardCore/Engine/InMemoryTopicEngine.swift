import NIOCore
import Synchronization

/// The topic engine of one broker process: every topic in memory.
public final class InMemoryTopicEngine: TopicEngine {
    /// The settings in force.
    public let configuration: EngineConfiguration
    /// The engine's counters.
    public let stats = EngineStats()

    let topics = Mutex<[String: Topic]>([:])
    /// The zstd contexts of fan-out passes, shared with HTTP answers.
    public let compressor: CompressorPool
    let now: @Sendable () -> Int64
    /// Runs fan-out passes after a publish.
    let scheduler: any FanOutScheduler
    private let generations = Atomic<UInt64>(0)

    /// Creates an engine; `now` gives wall-clock µs and `scheduler` runs fan-out passes, both
    /// replaceable in tests.
    public init(
        configuration: EngineConfiguration = .init(), now: @escaping @Sendable () -> Int64 = WallClock.micros,
        scheduler: any FanOutScheduler = TaskFanOutScheduler()
    ) throws {
        self.configuration = configuration
        self.compressor = try CompressorPool(level: configuration.zstdLevel)
        self.now = now
        self.scheduler = scheduler
    }

    /// The number of topics that exist.
    public var topicCount: Int { topics.withLock { $0.count } }

    // MARK: Publishing

    public func publish(_ request: PublishRequest) throws(EngineError) -> PublishReceipt {
        try validate(request)
        while true {
            let topic = try topic(named: request.topic, create: true)!
            if let receipt = try append(request, to: topic) { return receipt }
        }
    }

    public func publish(batch: [PublishRequest]) throws(BatchError) -> [PublishReceipt] {
        guard !batch.isEmpty else {
            throw BatchError(index: 0, error: EngineError(.invalidBatch, message: "The batch has no events."))
        }
        for (index, request) in batch.enumerated() {
            do { try validate(request) } catch { throw BatchError(index: index, error: error) }
        }
        try reserveTopics(for: batch)
        var receipts: [PublishReceipt] = []
        receipts.reserveCapacity(batch.count)
        for (index, request) in batch.enumerated() {
            while true {
                // The topics were created above; only an operator's delete (or the idle sweep)
                // races with this, and then the topic is created again, limit permitting.
                let topic: Topic
                do { topic = try self.topic(named: request.topic, create: true)! } catch { throw BatchError(index: index, error: error) }
                let appended: PublishReceipt?
                do { appended = try append(request, to: topic) } catch { throw BatchError(index: index, error: error) }
                if let receipt = appended {
                    receipts.append(receipt)
                    break
                }
            }
        }
        return receipts
    }

    private func validate(_ request: PublishRequest) throws(EngineError) {
        guard TopicName.isValid(request.topic) else { throw .invalidTopic(request.topic) }
        guard request.payload.readableBytes <= configuration.maxPayloadBytes else {
            throw EngineError(.payloadTooLarge, message: "The payload is \(request.payload.readableBytes) bytes; the limit is \(configuration.maxPayloadBytes).")
        }
        if let key = request.idempotencyKey, !TopicName.isValidIdempotencyKey(key) {
            throw EngineError(.invalidIdempotencyKey, message: "An idempotency key is 1 to 128 URL-safe characters (A-Z a-z 0-9 - . _ ~).")
        }
    }

    /// Creates every topic a batch needs, or none if that would exceed the topic limit.
    private func reserveTopics(for batch: [PublishRequest]) throws(BatchError) {
        let time = now()
        let failure: Int? = topics.withLock { topics in
            var missing: [(Int, String)] = []
            var seen = Set<String>()
            for (index, request) in batch.enumerated() where topics[request.topic] == nil && seen.insert(request.topic).inserted {
                missing.append((index, request.topic))
            }
            if topics.count + missing.count > configuration.maxTopics {
                return missing[max(0, configuration.maxTopics - topics.count)].0
            }
            for (_, name) in missing {
                topics[name] = Topic(name: name, limits: configuration.ringLimits, now: time)
            }
            return nil
        }
        if let failure { throw BatchError(index: failure, error: topicLimitError) }
    }

    private var topicLimitError: EngineError {
        EngineError(.limitReached, message: "The broker holds its maximum of \(configuration.maxTopics) topics.")
    }

    /// Appends under the topic's lock; nil if the topic was retired meanwhile (look it up again).
    /// Throws `idempotency_key_reused` for a buffered key that names a different event.
    private func append(_ request: PublishRequest, to topic: Topic) throws(EngineError) -> PublishReceipt? {
        let time = now()
        var reused = false
        let outcome: (PublishReceipt, Bool, [UInt64: TopicWaiter])? = topic.state.withLock { state in
            guard !state.retired else { return nil }
            if let key = request.idempotencyKey, let first = state.ring.event(idempotencyKey: key) {
                // A repeat is the same event only if its payload and type are the same too.
                guard first.payload == request.payload, first.contentType == request.contentType else {
                    reused = true
                    return nil
                }
                return (PublishReceipt(topic: topic.name, seq: first.seq, epoch: state.epoch, ts: first.ts, duplicate: true), false, [:])
            }
            let event = state.ring.append(payload: request.payload, contentType: request.contentType, ts: time, idempotencyKey: request.idempotencyKey)
            state.publishRate.record(at: time)
            // Nobody to fan out to and no pass under way: the event counts as fanned out now
            // (a later subscriber replays it from the ring), and no pass task is started.
            if state.subscriptions.isEmpty && !state.passScheduled { state.fannedThrough = event.seq }
            let schedule = !state.passScheduled && !state.subscriptions.isEmpty
            if schedule { state.passScheduled = true }
            // Waiters are one-shot: each wakes once and reads again before it waits anew.
            var waiters: [UInt64: TopicWaiter] = [:]
            swap(&waiters, &state.waiters)
            return (PublishReceipt(topic: topic.name, seq: event.seq, epoch: state.epoch, ts: event.ts, duplicate: false), schedule, waiters)
        }
        if reused { throw .idempotencyKeyReused(request.idempotencyKey ?? "") }
        guard let (receipt, schedule, waiters) = outcome else { return nil }
        for waiter in waiters.values { waiter.fire() }
        if !receipt.duplicate {
            stats.eventsPublished.add(1, ordering: .relaxed)
            stats.bytesReceived.add(UInt64(request.payload.readableBytes), ordering: .relaxed)
        }
        if schedule {
            let compressor = self.compressor
            let stats = self.stats
            scheduler.schedule { topic.runPasses(compressor: compressor, stats: stats) }
        }
        return receipt
    }

    // MARK: Topics

    /// The topic named `name`, created when `create` is set and the limit allows.
    func topic(named name: String, create: Bool) throws(EngineError) -> Topic? {
        let time = now()
        let result: Result<Topic?, EngineError> = topics.withLock { topics in
            if let existing = topics[name] { return .success(existing) }
            guard create else { return .success(nil) }
            guard topics.count < configuration.maxTopics else { return .failure(topicLimitError) }
            let topic = Topic(name: name, limits: configuration.ringLimits, now: time)
            topics[name] = topic
            return .success(topic)
        }
        return try result.get()
    }

    public func topicInfo(_ name: String) -> TopicInfo? {
        (try? topic(named: name, create: false))??.info(now: now())
    }

    /// Snapshots of every topic whose name starts with `prefix`, sorted by name.
    public func topicInfos(prefix: String = "") -> [TopicInfo] {
        let all = topics.withLock { Array($0.values) }
        let time = now()
        return all.filter { $0.name.hasPrefix(prefix) }.map { $0.info(now: time) }.sorted { $0.name < $1.name }
    }

    public func deleteTopic(_ name: String) -> Bool {
        guard let topic = topics.withLock({ $0.removeValue(forKey: name) }) else { return false }
        let (subscriptions, waiters) = topic.state.withLock { state in
            state.retired = true
            defer {
                state.subscriptions.removeAll()
                state.waiters.removeAll()
            }
            return (Array(state.subscriptions.values), Array(state.waiters.values))
        }
        for waiter in waiters { waiter.fire(deleted: name) }
        for subscription in subscriptions {
            subscription.subscriber.withQueue { queue in
                guard queue.isCurrent(topic: name, generation: subscription.generation) else { return }
                queue.deactivate(topic: name)
                queue.push(.deleted(topic: name))
            }
        }
        return true
    }

    /// Applies age limits and drops idle topics; returns the names dropped.
    ///
    /// A topic is idle when it has no subscribers or waiting readers and its newest event (or, with none, its
    /// creation) is older than ``EngineConfiguration/idleTopicSeconds``.
    @discardableResult
    public func sweep() -> [String] {
        let time = now()
        let idleCutoff = time - Int64(configuration.idleTopicSeconds) * 1_000_000
        // Visit topics outside the registry lock, so publishes and subscribes are not held up
        // by a sweep over many topics; only the removal of what was retired takes it again.
        let all = topics.withLock { Array($0.values) }
        let retired = all.filter { topic in
            topic.state.withLock { state in
                state.ring.evict(now: time)
                let lastUse = max(state.ring.newest?.ts ?? 0, state.createdAt)
                guard !state.retired, state.subscriptions.isEmpty, state.waiters.isEmpty, lastUse < idleCutoff else { return false }
                state.retired = true
                return true
            }
        }
        topics.withLock { topics in
            for topic in retired where topics[topic.name] === topic {
                topics.removeValue(forKey: topic.name)
            }
        }
        return retired.map(\.name).sorted()
    }

    func nextGeneration() -> UInt64 {
        generations.wrappingAdd(1, ordering: .relaxed).newValue
    }
}
