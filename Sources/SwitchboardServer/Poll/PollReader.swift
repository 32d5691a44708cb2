import SwitchboardCore

/// What one read over several topics found: events merged across topics, gaps and resets.
struct PollBatch: Sendable {
    /// A topic whose epoch changed under the reader, with the new epoch.
    struct Reset: Sendable, Equatable {
        var topic: String
        var epoch: String
    }

    /// Events in delivery order: each topic's in seq order, topics interleaved by receive time.
    var events: [(topic: String, event: Event)] = []
    /// Events that will never reach the reader.
    var gaps: [Gap] = []
    /// Topics whose sequence restarted.
    var resets: [Reset] = []
    /// The reader's position in every topic after this batch.
    var cursor: Cursor

    /// Whether there is anything to tell the client.
    var isEmpty: Bool { events.isEmpty && gaps.isEmpty && resets.isEmpty }
}

/// Follows several topics for one HTTP reader (a long-poll or an SSE stream), keeping its
/// position in each so that following its cursors never loses or repeats an event.
struct PollReader: Sendable {
    let engine: any TopicEngine
    /// The same engine's reads that never suspend, when it has them (see ``readNow(limit:)``).
    let direct: (any ImmediateTopicOperations)?
    let topics: [String]
    private var starts: [String: StartPosition]
    /// The reader's position after the last read; nil before the first.
    private(set) var cursor: Cursor?

    init(engine: any TopicEngine, query: ReadQuery) {
        self.engine = engine
        self.direct = engine.immediate
        self.topics = query.topics
        self.starts = query.starts
    }

    /// Whether the engine reads without suspending, so the reader can be answered on its event loop.
    var canReadNow: Bool { direct != nil }

    /// Reads at most `limit` events past the reader's position, never waiting, and moves past them.
    mutating func read(limit: Int) async throws(EngineError) -> PollBatch {
        var reads: [TopicRead] = []
        for topic in topics {
            // Readers are subscribers too: a topic exists once anyone follows it.
            guard let read = try await engine.read(topic: topic, from: starts[topic] ?? .live, limit: limit, create: true) else { continue }
            reads.append(read)
        }
        return take(reads, limit: limit)
    }

    /// ``read(limit:)`` without suspending, for a poll answered on its event loop; only when
    /// ``direct`` is set (``canReadNow``): without it, it reads nothing.
    mutating func readNow(limit: Int) throws(EngineError) -> PollBatch {
        guard let direct else { return PollBatch(cursor: cursor ?? Cursor(positions: [])) }
        var reads: [TopicRead] = []
        for topic in topics {
            guard let read = try direct.readNow(topic: topic, from: starts[topic] ?? .live, limit: limit, create: true) else { continue }
            reads.append(read)
        }
        return take(reads, limit: limit)
    }

    /// Merges what each topic gave into one batch and moves the reader past it.
    private mutating func take(_ reads: [TopicRead], limit: Int) -> PollBatch {
        var batch = PollBatch(cursor: Cursor(positions: []))
        var taken = Array(repeating: 0, count: reads.count)
        // A k-way merge by receive time keeps each topic's events a prefix of what it has,
        // so the cursor can move past exactly what was sent.
        while batch.events.count < limit {
            var next: Int?
            for index in reads.indices where taken[index] < reads[index].events.count {
                if let best = next, reads[best].events[taken[best]].ts <= reads[index].events[taken[index]].ts { continue }
                next = index
            }
            guard let index = next else { break }
            batch.events.append((reads[index].topic, reads[index].events[taken[index]]))
            taken[index] += 1
        }
        for (index, read) in reads.enumerated() {
            if read.reset { batch.resets.append(.init(topic: read.topic, epoch: read.epoch)) }
            if let gap = read.gap { batch.gaps.append(gap) }
            let seq = read.after + UInt64(taken[index])
            batch.cursor.positions.append(Cursor.Position(topic: read.topic, epoch: read.epoch, seq: seq))
            starts[read.topic] = .since(seq, epoch: read.epoch)
        }
        cursor = batch.cursor
        return batch
    }

    /// Waits until one of the topics moves past the reader's position, or `waiter` is fired
    /// (a timer, a drain, an operator); returns why it woke.
    func wait(_ waiter: TopicWaiter) async -> TopicWaiter.Wake {
        guard let cursor else { return TopicWaiter.Wake() }
        var watched: [String] = []
        var moved = false
        for position in cursor.positions {
            guard await engine.watch(waiter, topic: position.topic, epoch: position.epoch, after: position.seq) else {
                moved = true
                break
            }
            watched.append(position.topic)
        }
        // A client that goes away cancels its request's task: the wait ends as if closed.
        let wake = moved ? waiter.take() : await withTaskCancellationHandler { await waiter.wait() } onCancel: { waiter.fire(closed: true) }
        for topic in watched { await engine.unwatch(waiter, topic: topic) }
        return wake
    }

    /// Leaves `waiter` on every topic, to be fired when one moves past the reader's position;
    /// false (and fired) when one already has. Only when ``direct`` is set; ``unwatchNow(_:)`` undoes it.
    func watchNow(_ waiter: TopicWaiter) -> Bool {
        guard let direct, let cursor else { return false }
        for position in cursor.positions where !direct.watchNow(waiter, topic: position.topic, epoch: position.epoch, after: position.seq) {
            waiter.fire()
            return false
        }
        return true
    }

    /// Takes `waiter` off every topic again.
    func unwatchNow(_ waiter: TopicWaiter) {
        guard let direct, let cursor else { return }
        for position in cursor.positions { direct.unwatchNow(waiter, topic: position.topic) }
    }
}
