public import Foundation
public import NIOCore

extension SwitchboardClient {
    /// One event of a topic, exactly as the broker stored it.
    public struct Event: Sendable, Equatable {
        /// The topic the event was published to.
        public let topic: String
        /// The topic's sequence number: 1, 2, 3, … within one epoch.
        public let seq: UInt64
        /// The broker's receive time, in microseconds since the Unix epoch.
        public let ts: Int64
        /// The payload bytes, as a slice of the frame they arrived in.
        public let payload: ByteBuffer

        /// Creates an event (the client makes these; tests and fakes may too).
        public init(topic: String, seq: UInt64, ts: Int64, payload: ByteBuffer) {
            self.topic = topic
            self.seq = seq
            self.ts = ts
            self.payload = payload
        }

        /// The payload as `Data`.
        public var data: Data { Data(payload.readableBytesView) }

        /// The payload as an array of bytes.
        public var bytes: [UInt8] { Array(payload.readableBytesView) }

        /// The payload as UTF-8 text, or `nil` when it is not valid UTF-8.
        public var text: String? { String(validating: payload.readableBytesView, as: UTF8.self) }

        /// The payload decoded from JSON as `type`.
        public func decode<T: Decodable>(_ type: T.Type, using decoder: JSONDecoder = JSONDecoder()) throws -> T {
            try decoder.decode(type, from: data)
        }

        /// The broker's receive time as a `Date`.
        public var date: Date { Date(timeIntervalSince1970: Double(ts) / 1_000_000) }
    }

    /// Events `from...to` (inclusive) of `topic` will never arrive.
    ///
    /// The broker evicted them before they could be replayed, or dropped them because the client
    /// read too slowly. It comes before the first event after the hole.
    public struct Gap: Sendable, Equatable {
        /// The topic with the hole.
        public let topic: String
        /// The first missing seq.
        public let from: UInt64
        /// The last missing seq.
        public let to: UInt64

        /// Creates a gap.
        public init(topic: String, from: UInt64, to: UInt64) {
            self.topic = topic
            self.from = from
            self.to = to
        }
    }

    /// The topic's sequence restarted in a new epoch.
    ///
    /// What the application built from earlier events of the topic may be stale: the events that
    /// follow are the new epoch's buffer from its start (with a ``Gap`` first if it no longer
    /// begins at 1), then live events.
    public struct Reset: Sendable, Equatable {
        /// The topic whose sequence restarted.
        public let topic: String
        /// The new epoch.
        public let epoch: String

        /// Creates a reset.
        public init(topic: String, epoch: String) {
            self.topic = topic
            self.epoch = epoch
        }
    }

    /// What a ``Subscription`` yields, in stream order.
    public enum Item: Sendable, Equatable {
        /// An event; each is delivered once, in seq order.
        case event(Event)
        /// A hole the broker announced: those events will never arrive.
        case gap(Gap)
        /// The topic restarted in a new epoch.
        case reset(Reset)
        /// An operator deleted the topic; the subscription ends after this item.
        case deleted(topic: String)
    }

    /// Where a subscription is: the epoch and the seq of the last event (or gap end) it handed out.
    ///
    /// Keep it to resume later with `subscribe(topic, since: position.seq, epoch: position.epoch)`.
    public struct Position: Sendable, Equatable, Hashable {
        /// The topic's epoch, or `nil` before the broker confirmed the subscription.
        public var epoch: String?
        /// The seq of the last event or gap end handed out, or `nil` before anything is known.
        public var seq: UInt64?

        /// Creates a position.
        public init(epoch: String?, seq: UInt64?) {
            self.epoch = epoch
            self.seq = seq
        }
    }

    /// The broker's answer to a publish: where the event went.
    public struct PublishReceipt: Sendable, Equatable, Decodable {
        /// The topic.
        public let topic: String
        /// The event's seq.
        public let seq: UInt64
        /// The topic's epoch.
        public let epoch: String
        /// The broker's receive time, in microseconds since the Unix epoch.
        public let ts: Int64
        /// True when an `Idempotency-Key` matched an event still buffered: nothing new was
        /// published, and the fields describe that first event.
        public let duplicate: Bool

        /// Creates a receipt.
        public init(topic: String, seq: UInt64, epoch: String, ts: Int64, duplicate: Bool = false) {
            self.topic = topic
            self.seq = seq
            self.epoch = epoch
            self.ts = ts
            self.duplicate = duplicate
        }

        enum CodingKeys: String, CodingKey { case topic, seq, epoch, ts, duplicate }

        /// Decodes the contract's receipt object (`duplicate` is optional, false when absent).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            topic = try c.decode(String.self, forKey: .topic)
            seq = try c.decode(UInt64.self, forKey: .seq)
            epoch = try c.decode(String.self, forKey: .epoch)
            ts = try c.decode(Int64.self, forKey: .ts)
            duplicate = try c.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
        }
    }

    /// The state of the client's WebSocket connection.
    public enum ConnectionState: String, Sendable, Equatable {
        /// Not connected; an attempt follows after a backoff delay (or when something subscribes).
        case disconnected
        /// A connection attempt is in progress.
        case connecting
        /// Connected; subscriptions are (re)established on this connection.
        case connected
        /// Final: closed by the application, or refused for good (see ``SwitchboardClient/error``).
        case closed
    }
}

/// An error this library throws.
public enum SwitchboardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broker answered with an error: an HTTP error (`status` set) or a WebSocket `error`
    /// message (`status` nil). `code` is the contract's snake_case code; `index` the failing
    /// entry of a batch, when given.
    case broker(code: String, message: String, status: Int?, index: Int?)
    /// The broker refused the credentials (HTTP 401). The client does not reconnect.
    case unauthorized(message: String)
    /// The broker closed the connection with a code that means "stop" (1008: credentials
    /// expired, or closed by an operator). The client does not reconnect.
    case closedByBroker(code: UInt16, reason: String?)
    /// The application closed the client; it cannot be used any more.
    case clientClosed
    /// The application already holds a subscription to this topic on this client.
    case alreadySubscribed(topic: String)
    /// An argument broke a rule of the contract (`since` with `last`, a bad URL, …).
    case invalidArgument(String)
    /// An answer from the broker could not be understood.
    case invalidResponse(String)

    /// A sentence saying what went wrong.
    public var description: String {
        switch self {
        case .broker(let code, let message, let status, let index):
            let where_ = index.map { " (entry \($0))" } ?? ""
            return status.map { "HTTP \($0) \(code): \(message)\(where_)" } ?? "\(code): \(message)"
        case .unauthorized(let message): return "unauthorized: \(message)"
        case .closedByBroker(let code, let reason): return "closed by the broker: \(code) \(reason ?? "")"
        case .clientClosed: return "the client is closed"
        case .alreadySubscribed(let topic): return "already subscribed to \(topic)"
        case .invalidArgument(let text): return "invalid argument: \(text)"
        case .invalidResponse(let text): return "invalid response: \(text)"
        }
    }
}
