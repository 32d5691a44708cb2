extension InMemoryTopicEngine {
    public func read(topic name: String, from start: StartPosition, limit: Int, create: Bool) throws(EngineError) -> TopicRead? {
        guard TopicName.isValid(name) else { throw .invalidTopic(name) }
        while true {
            guard let topic = try topic(named: name, create: create) else { return nil }
            let time = now()
            let read: TopicRead? = topic.state.withLock { state in
                guard !state.retired else { return nil }
                // Events past the age limit leave before any read sees them, as the sweep would
                // have evicted them; the replay arithmetic then reports them as a gap.
                state.ring.evict(now: time)
                return Self.read(state.ring, topic: name, epoch: state.epoch, from: start, limit: limit)
            }
            if let read { return read }
        }
    }

    /// Plans and takes one read from a ring; pure, so every HTTP transport reads alike.
    static func read(_ ring: RingBuffer, topic: String, epoch: String, from start: StartPosition, limit: Int) -> TopicRead {
        let newest = ring.newestSeq
        if case .since(let since, nil) = start, since > newest {
            // A history read past the newest event: nothing yet, and no epoch to compare with.
            return TopicRead(topic: topic, epoch: epoch, newestSeq: newest, reset: false, gap: nil, after: since, events: [])
        }
        let plan = ReplayPlan.make(start: start, oldest: ring.oldestSeq, newest: newest, epoch: epoch)
        let gap = plan.gap.map { Gap(topic: topic, from: $0.lowerBound, to: $0.upperBound) }
        return TopicRead(
            topic: topic, epoch: epoch, newestSeq: newest, reset: plan.reset, gap: gap,
            after: max(plan.after, gap?.to ?? 0), events: ring.events(after: plan.after, limit: limit)
        )
    }

    public func watch(_ waiter: TopicWaiter, topic name: String, epoch: String, after: UInt64) -> Bool {
        guard let topic = try? topic(named: name, create: false) else { return false }
        return topic.state.withLock { state in
            guard !state.retired, state.epoch == epoch, state.ring.newestSeq <= after else { return false }
            state.waiters[waiter.id] = waiter
            return true
        }
    }

    public func unwatch(_ waiter: TopicWaiter, topic name: String) {
        guard let topic = try? topic(named: name, create: false) else { return }
        topic.state.withLock { _ = $0.waiters.removeValue(forKey: waiter.id) }
    }
}

/// What one read of a topic's buffer found, for the HTTP transports (long-poll, SSE, history).
public struct TopicRead: Sendable, Equatable {
    /// The topic read.
    public var topic: String
    /// The topic's current epoch.
    public var epoch: String
    /// The newest seq of the topic at the time of the read (0 before the first event).
    public var newestSeq: UInt64
    /// Whether the reader's epoch was stale (or its seq beyond the newest) and it restarted at the buffer's start.
    public var reset: Bool
    /// Events the reader asked for that are no longer buffered.
    public var gap: Gap?
    /// The reader's position once it has been told of the gap: it has seen every seq up to this.
    public var after: UInt64
    /// The events read, oldest first, consecutive, starting at `after + 1`.
    public var events: [Event]
}
