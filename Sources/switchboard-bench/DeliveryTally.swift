import Histogram

/// What every subscriber of a run adds to. One thread uses it at a time (the epoll reader
/// under its lock, or the NIO subscribers' one event loop), so its counters need no lock.
final class DeliveryTally {
    /// Publish → receive latency, µs.
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    /// Events accepted: each (publisher, number) once per subscriber.
    var delivered = 0
    /// Events that arrived a second time.
    var duplicates = 0
    /// Events that arrived after a later event of the same publisher.
    var outOfOrder = 0
    /// Switchboard `gap` messages.
    var gaps = 0
    /// Switchboard frames whose first seq was not the previous frame's last + 1 without a `gap` between.
    var seqErrors = 0
    /// WebSocket messages that carried events.
    var frames = 0
    /// Events without a stamp the bench could read.
    var unstamped = 0
    /// Subscribers that finished the handshake (Switchboard: got `subscribed`).
    var ready = 0
    /// Subscribers whose connection failed or was refused.
    var failed = 0
    /// Subscribers the broker closed (close frame or TCP) after they were ready.
    var closedByBroker = 0
    /// Set when the bench closes its connections, so those closes are not counted as the broker's.
    var closing = false
    /// Frames that could not be parsed or decompressed.
    var malformed = 0
    /// When the first and the last event arrived, µs since the Unix epoch.
    var firstDelivery: Int64 = 0, lastDelivery: Int64 = 0
    /// One zstd context for every subscriber of the run.
    let inflater: ZstdInflater

    /// A tally for a run.
    init() throws {
        inflater = try ZstdInflater()
    }

    /// Counts one event received at `now` by a subscriber whose order state is `order`.
    @inline(__always)
    func record(_ bytes: UnsafeRawBufferPointer, now: Int64, order: inout OrderChecker) {
        if firstDelivery == 0 { firstDelivery = now }
        lastDelivery = now
        guard let stamp = PayloadStamp.parse(bytes) else {
            unstamped += 1
            delivered += 1
            if let sentAt = PayloadStamp.sentAt(in: bytes) { latency.record(UInt64(max(1, now - sentAt))) }
            return
        }
        latency.record(UInt64(max(1, now - stamp.sentAt)))
        switch order.accept(publisher: stamp.publisher, number: stamp.number) {
        case .next: delivered += 1
        case .late:
            delivered += 1
            outOfOrder += 1
        case .duplicate: duplicates += 1
        }
    }

    /// A copy of the counters, for the summary.
    var snapshot: DeliveryCounts {
        DeliveryCounts(
            delivered: delivered, duplicates: duplicates, outOfOrder: outOfOrder, gaps: gaps, seqErrors: seqErrors,
            frames: frames, unstamped: unstamped, ready: ready, failed: failed, closedByBroker: closedByBroker,
            malformed: malformed, firstDelivery: firstDelivery, lastDelivery: lastDelivery, latency: latency
        )
    }
}

/// The counters of a `DeliveryTally` at one moment, safe to carry off the event loop.
struct DeliveryCounts: Sendable {
    var delivered, duplicates, outOfOrder, gaps, seqErrors, frames, unstamped, ready, failed, closedByBroker, malformed: Int
    var firstDelivery, lastDelivery: Int64
    var latency: Histogram<UInt64>
}

/// One subscriber's view of each publisher's numbering: exactly once, in order.
struct OrderChecker {
    /// How an event fits the sequence so far.
    enum Verdict {
        /// The next number, or later (an earlier one is missing so far).
        case next
        /// A number that was missing and arrives after a later one.
        case late
        /// A number seen before.
        case duplicate
    }

    private var last: [Int] = []
    /// Numbers skipped so far, per publisher; rare, so a plain list of ranges.
    private var holes: [[ClosedRange<Int>]] = []

    /// Checks `number` from `publisher` and remembers it.
    mutating func accept(publisher: Int, number: Int) -> Verdict {
        if publisher >= last.count {
            last += Array(repeating: 0, count: publisher + 1 - last.count)
            holes += Array(repeating: [], count: publisher + 1 - holes.count)
        }
        let previous = last[publisher]
        if number > previous {
            if number > previous + 1 { holes[publisher].append((previous + 1)...(number - 1)) }
            last[publisher] = number
            return .next
        }
        guard let index = holes[publisher].firstIndex(where: { $0.contains(number) }) else { return .duplicate }
        let hole = holes[publisher].remove(at: index)
        if hole.lowerBound < number { holes[publisher].append(hole.lowerBound...(number - 1)) }
        if number < hole.upperBound { holes[publisher].append((number + 1)...hole.upperBound) }
        return .late
    }
}
