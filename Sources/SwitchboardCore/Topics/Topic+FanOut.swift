import NIOCore
import Synchronization

extension Topic {
    /// Frames hold events up to about this many bytes; a burst is split across several frames.
    static let maxFrameBytes = 256 * 1024

    /// Splits consecutive events into runs that each fit one frame.
    static func frameRuns(_ events: ArraySlice<Event>, topic: String) -> [ArraySlice<Event>] {
        var runs: [ArraySlice<Event>] = []
        var start = events.startIndex
        var size = EventFrame.encodedSize(topic: topic, events: EmptyCollection())
        for index in events.indices {
            let eventSize = EventFrame.perEventOverhead + events[index].payload.readableBytes
            if index > start, size + eventSize > maxFrameBytes {
                runs.append(events[start..<index])
                start = index
                size = EventFrame.encodedSize(topic: topic, events: EmptyCollection())
            }
            size += eventSize
        }
        if start < events.endIndex { runs.append(events[start...]) }
        return runs
    }

    /// Encodes `events` into frames, compressed as well when a `compressor` is given.
    static func encodeFrames(topic: String, events: ArraySlice<Event>, compressor: CompressorPool?) -> [EncodedFrame] {
        frameRuns(events, topic: topic).map { run in
            let plain = EventFrame.encode(topic: topic, events: run)
            let compressed = compressor.flatMap { pool in pool.compressFrame(plain) }
            return EncodedFrame(topic: topic, firstSeq: run.first!.seq, lastSeq: run.last!.seq, plain: plain, compressed: compressed)
        }
    }

    /// What one pass found to deliver, taken under the lock.
    private struct PassWork {
        var events: [Event]
        var lost: ClosedRange<UInt64>?
        var subscriptions: [Subscription]
        var compress: Bool
    }

    /// Runs fan-out passes until every appended event has been handed to the subscribers.
    ///
    /// Only one pass of a topic runs at a time (`passScheduled`), so subscribers see its
    /// frames in seq order.
    func runPasses(compressor: CompressorPool, stats: EngineStats) {
        while let work = takePassWork() {
            deliver(work, compressor: compressor, stats: stats)
        }
    }

    private func takePassWork() -> PassWork? {
        state.withLock { state -> PassWork? in
            let newest = state.ring.newestSeq
            guard state.fannedThrough < newest, !state.retired else {
                state.passScheduled = false
                return nil
            }
            let oldest = state.ring.oldestSeq
            // A burst larger than the ring can evict events before any pass saw them.
            let lost: ClosedRange<UInt64>? = state.fannedThrough + 1 < oldest ? (state.fannedThrough + 1)...(oldest - 1) : nil
            let events = state.ring.events(after: state.fannedThrough)
            state.fannedThrough = newest
            return PassWork(
                events: events, lost: lost, subscriptions: Array(state.subscriptions.values),
                compress: state.zstdSubscribers > 0
            )
        }
    }

    private func deliver(_ work: PassWork, compressor: CompressorPool, stats: EngineStats) {
        guard !work.subscriptions.isEmpty else { return }
        let frames = Self.encodeFrames(topic: name, events: work.events[...], compressor: work.compress ? compressor : nil)
        for subscription in work.subscriptions {
            let subscriber = subscription.subscriber
            let after = subscription.after
            subscriber.withQueue { queue in
                guard queue.isCurrent(topic: name, generation: subscription.generation) else { return }
                if let lost = work.lost, lost.upperBound > after {
                    let gap = Gap(topic: name, from: max(lost.lowerBound, after + 1), to: lost.upperBound)
                    queue.push(.gap(gap))
                    stats.gaps.add(1, ordering: .relaxed)
                }
                for frame in frames where frame.lastSeq > after {
                    var frame = frame
                    if frame.firstSeq <= after {
                        // Rare: the subscriber joined after these events were appended but before this pass.
                        let start = work.events.firstIndex { $0.seq > after }!
                        let end = work.events.firstIndex { $0.seq == frame.lastSeq }!
                        frame = Self.encodeFrames(topic: name, events: work.events[start...end], compressor: subscriber.zstd ? compressor : nil)[0]
                    }
                    let result = queue.push(frame, generation: subscription.generation)
                    switch result {
                    case .queued:
                        stats.eventsDelivered.add(frame.lastSeq - frame.firstSeq + 1, ordering: .relaxed)
                    case .droppedOlder(let dropped):
                        stats.eventsDelivered.add(frame.lastSeq - frame.firstSeq + 1, ordering: .relaxed)
                        stats.eventsDropped.add(dropped, ordering: .relaxed)
                        stats.gaps.add(1, ordering: .relaxed)
                    case .disconnect:
                        stats.slowDisconnects.add(1, ordering: .relaxed)
                    case .stale, .closed:
                        break
                    }
                }
            }
        }
    }
}
