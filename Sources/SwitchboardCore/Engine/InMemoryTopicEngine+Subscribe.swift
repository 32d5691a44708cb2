import NIOCore

extension InMemoryTopicEngine {
    public func subscribe(_ subscriber: Subscriber, topic name: String, from start: StartPosition, id: MessageID?) throws(EngineError) -> SubscribeReceipt {
        guard TopicName.isValid(name) else { throw .invalidTopic(name) }
        while true {
            let topic = try topic(named: name, create: true)!
            if let receipt = try attach(subscriber, to: topic, from: start, id: id) { return receipt }
        }
    }

    /// Registers the subscription and queues `subscribed`, any gap and the replay, all under
    /// the topic's lock so that the next fan-out pass can only come after them.
    /// Returns nil when the topic was retired meanwhile.
    private func attach(_ subscriber: Subscriber, to topic: Topic, from start: StartPosition, id: MessageID?) throws(EngineError) -> SubscribeReceipt? {
        let generation = nextGeneration()
        let compressor = self.compressor
        let stats = self.stats
        let name = topic.name
        let time = now()
        let outcome: Result<SubscribeReceipt, EngineError>? = topic.state.withLock { state in
            guard !state.retired else { return nil }
            // A replay never serves events past the age limit (see `read`).
            state.ring.evict(now: time)
            let ring = state.ring
            let plan = ReplayPlan.make(start: start, oldest: ring.oldestSeq, newest: ring.newestSeq, epoch: state.epoch)
            let receipt = SubscribeReceipt(epoch: state.epoch, seq: ring.newestSeq, reset: plan.reset)
            // Events after `fannedThrough` reach this subscriber through the next pass.
            let replay = ring.events(after: plan.after).prefix { $0.seq <= state.fannedThrough }
            let frames = replay.isEmpty ? [] : Topic.encodeFrames(topic: name, events: replay, compressor: subscriber.zstd ? compressor : nil)
            let error: EngineError? = subscriber.withQueue { queue in
                if queue.subscriptions[name] != nil {
                    return EngineError(.alreadySubscribed, message: "This connection is already subscribed to '\(name)'.")
                }
                if queue.subscriptions.count >= subscriber.maxSubscriptions {
                    return EngineError(.limitReached, message: "A connection may hold at most \(subscriber.maxSubscriptions) subscriptions.")
                }
                queue.activate(topic: name, generation: generation)
                queue.push(.subscribed(topic: name, epoch: receipt.epoch, seq: receipt.seq, reset: receipt.reset, id: id))
                if let gap = plan.gap {
                    queue.push(.gap(Gap(topic: name, from: gap.lowerBound, to: gap.upperBound)))
                    stats.gaps.add(1, ordering: .relaxed)
                }
                for frame in frames {
                    if queue.push(frame, generation: generation) != .stale {
                        stats.eventsDelivered.add(frame.lastSeq - frame.firstSeq + 1, ordering: .relaxed)
                    }
                }
                return nil
            }
            if let error { return .failure(error) }
            // The gap above already covers everything evicted so far; a pass reports only later losses.
            let after = max(plan.after, ring.oldestSeq - 1)
            state.subscriptions[subscriber.id] = Topic.Subscription(subscriber: subscriber, generation: generation, after: after)
            if subscriber.zstd { state.zstdSubscribers += 1 }
            return .success(receipt)
        }
        return try outcome?.get()
    }

    public func unsubscribe(_ subscriber: Subscriber, topic name: String, id: MessageID?) throws(EngineError) {
        guard TopicName.isValid(name) else { throw .invalidTopic(name) }
        let wasSubscribed = subscriber.withQueue { queue in
            guard queue.deactivate(topic: name) else { return false }
            queue.push(.unsubscribed(topic: name, id: id))
            return true
        }
        guard wasSubscribed else {
            throw EngineError(.notSubscribed, message: "This connection is not subscribed to '\(name)'.")
        }
        detach(subscriber, from: name)
    }

    public func remove(_ subscriber: Subscriber) {
        let names = subscriber.withQueue { queue in
            let names = Array(queue.subscriptions.keys)
            for name in names { queue.deactivate(topic: name) }
            return names
        }
        for name in names { detach(subscriber, from: name) }
    }

    private func detach(_ subscriber: Subscriber, from name: String) {
        guard let topic = try? topic(named: name, create: false) else { return }
        topic.state.withLock { state in
            if state.subscriptions.removeValue(forKey: subscriber.id) != nil, subscriber.zstd {
                state.zstdSubscribers -= 1
            }
        }
    }
}
