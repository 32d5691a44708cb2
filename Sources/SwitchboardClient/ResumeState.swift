import NIOCore

/// The resume logic of one subscription, with no sockets: what to ask the broker on each
/// (re)connection, and which items the application gets from what the broker says.
///
/// It keeps `(epoch, seq)`: the epoch and the seq of the last event or gap end handed to the
/// subscription's buffer. Every resubscription asks for `since: seq, epoch: epoch`, so each event
/// reaches the application once, in order, with a ``SwitchboardClient/Gap`` or a
/// ``SwitchboardClient/Reset`` wherever the stream did not continue. Events at or below `seq`
/// (a replay that overlaps what was delivered) are dropped, and a hole the broker did not announce
/// becomes a gap, so the application is never told less than what happened.
struct ResumeState: Sendable, Equatable {
    /// What one `subscribe` op asks for.
    struct Request: Sendable, Equatable {
        var topic: String
        var since: UInt64?
        var epoch: String?
        var last: Int?
    }

    /// The topic.
    let topic: String
    /// The epoch the position belongs to; `nil` until known.
    private(set) var epoch: String?
    /// The seq of the last event or gap end delivered; `nil` for a live subscription not yet confirmed.
    private(set) var seq: UInt64?
    /// `last` as the application asked, used until the position is known.
    private let last: Int?
    /// What the pending `subscribe` asked for (to read `subscribed` against it).
    private var requested: Request?

    /// A subscription from `since` (with the `epoch` it belongs to), or the `last` newest, or live.
    init(topic: String, since: UInt64? = nil, epoch: String? = nil, last: Int? = nil) {
        self.topic = topic
        self.seq = since
        self.epoch = epoch
        self.last = since == nil ? last : nil
    }

    /// The position as the application sees it.
    var position: SwitchboardClient.Position { .init(epoch: epoch, seq: seq) }

    /// The `subscribe` request for the next connection: resume from the position once known,
    /// else what the application asked for.
    mutating func request() -> Request {
        var request = Request(topic: topic)
        if let seq {
            request.since = seq
            request.epoch = epoch
        } else if let last {
            request.last = last
        }
        requested = request
        return request
    }

    /// The broker confirmed the subscription: `epoch` is the topic's epoch, `newest` its newest seq
    /// now, `reset` whether the epoch asked for was stale. Returns the items to deliver.
    mutating func subscribed(epoch newEpoch: String, newest: UInt64, reset: Bool) -> [SwitchboardClient.Item] {
        var items: [SwitchboardClient.Item] = []
        if reset {
            items.append(.reset(.init(topic: topic, epoch: newEpoch)))
            seq = 0  // the new epoch's buffer is replayed from its start
        } else if let since = requested?.since {
            seq = since
        } else if let last = requested?.last {
            // The N newest come next; if the connection drops before they do, resuming from here
            // asks for exactly them again (or a gap for those evicted meanwhile).
            seq = newest > UInt64(last) ? newest - UInt64(last) : 0
        } else {
            seq = newest  // live: events after the newest one now
        }
        epoch = newEpoch
        requested = nil
        return items
    }

    /// Events of one frame, in seq order. Returns those not delivered yet (with a gap first if
    /// the frame starts past the next expected seq without a `gap` having said so).
    mutating func events(_ events: [(seq: UInt64, ts: Int64, payload: ByteBuffer)]) -> [SwitchboardClient.Item] {
        var items: [SwitchboardClient.Item] = []
        for event in events {
            if let seq {
                if event.seq <= seq { continue }  // already delivered: never twice
                if event.seq > seq + 1 {
                    items.append(.gap(.init(topic: topic, from: seq + 1, to: event.seq - 1)))
                }
            }
            items.append(.event(.init(topic: topic, seq: event.seq, ts: event.ts, payload: event.payload)))
            seq = event.seq
        }
        return items
    }

    /// The broker announced a hole `from...to`. Returns the gap to deliver, trimmed to what was
    /// not delivered yet, or `nil` when the application has seen past it.
    mutating func gap(from: UInt64, to: UInt64) -> SwitchboardClient.Item? {
        var from = from
        if let seq {
            if to <= seq { return nil }
            from = max(from, seq + 1)
        }
        seq = to
        return .gap(.init(topic: topic, from: from, to: to))
    }

    /// The topic restarted in `epoch` under the open subscription (v1.1 `reset` message).
    mutating func reset(epoch newEpoch: String) -> SwitchboardClient.Item {
        epoch = newEpoch
        seq = 0
        return .reset(.init(topic: topic, epoch: newEpoch))
    }
}
