extension InMemoryTopicEngine {
    /// Changes one topic's ring limits at run time, creating the topic if needed.
    ///
    /// Shrinking evicts from the old end at once; live subscribers hear of events evicted
    /// before a fan-out pass took them through a `gap`, and later replays report the gap
    /// through the usual replay arithmetic.
    @discardableResult
    public func setLimits(_ limits: RingLimits, for name: String) throws(EngineError) -> TopicInfo {
        guard TopicName.isValid(name) else { throw .invalidTopic(name) }
        precondition(limits.capacity >= 1 && limits.maxBytes >= 1 && limits.ttlSeconds >= 0, "ring limits are positive")
        while true {
            let topic = try topic(named: name, create: true)!
            let time = now()
            let applied = topic.state.withLock { state -> Bool in
                guard !state.retired else { return false }
                state.ring.setLimits(limits, now: time)
                return true
            }
            if applied { return topic.info(now: time) }
        }
    }

    /// Payload bytes buffered across every topic.
    public var bufferedBytes: Int {
        let all = topics.withLock { Array($0.values) }
        return all.reduce(0) { total, topic in total + topic.state.withLock { $0.ring.bufferedBytes } }
    }

    /// Events published per second in the last `seconds` whole seconds (oldest first), per topic.
    public func publishHistories(seconds: Int) -> [String: [UInt32]] {
        let all = topics.withLock { Array($0.values) }
        let time = now()
        var histories: [String: [UInt32]] = [:]
        for topic in all {
            histories[topic.name] = topic.state.withLock { $0.publishRate.history(seconds: seconds, now: time) }
        }
        return histories
    }
}
