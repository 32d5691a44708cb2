public import NIOCore

/// One event to publish.
public struct PublishRequest: Sendable {
    /// The topic to publish to.
    public var topic: String
    /// The payload bytes.
    public var payload: ByteBuffer
    /// The publisher's content type, kept verbatim.
    public var contentType: String
    /// An optional idempotency key (1 to 128 URL-safe characters).
    public var idempotencyKey: String?

    /// Creates a publish request.
    public init(topic: String, payload: ByteBuffer, contentType: String = "application/octet-stream", idempotencyKey: String? = nil) {
        self.topic = topic
        self.payload = payload
        self.contentType = contentType
        self.idempotencyKey = idempotencyKey
    }
}

/// What a publish gives back.
public struct PublishReceipt: Sendable, Equatable {
    /// The topic published to.
    public var topic: String
    /// The event's seq.
    public var seq: UInt64
    /// The topic's epoch.
    public var epoch: String
    /// The broker's receive time, µs since the Unix epoch.
    public var ts: Int64
    /// Whether an earlier publish with the same idempotency key answered this one.
    public var duplicate: Bool
}

/// What a subscribe gives back; the `subscribed` message says the same to the client.
public struct SubscribeReceipt: Sendable, Equatable {
    /// The topic's epoch.
    public var epoch: String
    /// The topic's newest seq at the moment of subscribing.
    public var seq: UInt64
    /// Whether the client's epoch was stale and the replay restarted at the current buffer.
    public var reset: Bool
}

/// A batch entry the engine refused, with its index.
public struct BatchError: Error, Sendable, Equatable {
    /// The index of the first bad entry.
    public var index: Int
    /// Why it was refused.
    public var error: EngineError
}

/// The topic engine: topics, their buffers and fan-out, behind one seam that every transport
/// uses and that two engines fill — the in-memory one of a single process, and one whose
/// topics live in Redis and are shared by several nodes.
///
/// The contract of the seam:
/// - **Ordering.** A topic's events get consecutive seqs from 1 in one epoch; a publish
///   returns only once its event is stored (its receipt names the seq), and a batch is stored
///   whole or not at all. Whatever an engine hands a subscriber or reader of one topic is in
///   seq order, each event once, with a ``Gap`` for every hole.
/// - **What may wait.** Every `async` requirement may suspend: on a lock, or on the network
///   (an engine in Redis waits for it on publish, subscribe, read and watch). None blocks a
///   thread. An engine that can answer without suspending says so through ``immediate``,
///   and only then do transports run its work on their event loops.
/// - **Who owns fan-out.** The engine. A subscriber handed to ``subscribe(_:topic:from:id:)``
///   gets `subscribed`, its replay and every later event or gap of the topic queued on it by
///   the engine, from whatever node published them, and encoded (and compressed) once per
///   batch for all its local subscribers; transports only write what is queued. Readers
///   (poll, SSE) read with ``read(topic:from:limit:create:)`` and wait with
///   ``watch(_:topic:epoch:after:)``.
/// - **Refusals** are ``EngineError``s (``BatchError`` for a batch); an engine whose store is
///   unreachable refuses with `engine_unavailable`.
public protocol TopicEngine: Sendable {
    /// The engine's counters.
    var stats: EngineStats { get }
    /// The same engine's operations that never suspend, or nil when its work waits on
    /// something (the network): a declared capability, not something to find by casting.
    var immediate: (any ImmediateTopicOperations)? { get }
    /// Publishes one event.
    func publish(_ request: PublishRequest) async throws(EngineError) -> PublishReceipt
    /// Publishes every event or none; the error names the first bad entry.
    func publish(batch: [PublishRequest]) async throws(BatchError) -> [PublishReceipt]
    /// Subscribes `subscriber` to `topic` from `start`; `subscribed`, any gap and the replay are queued before returning.
    func subscribe(_ subscriber: Subscriber, topic: String, from start: StartPosition, id: MessageID?) async throws(EngineError) -> SubscribeReceipt
    /// Ends one subscription and queues `unsubscribed`.
    func unsubscribe(_ subscriber: Subscriber, topic: String, id: MessageID?) async throws(EngineError)
    /// Ends every subscription of a subscriber that went away.
    func remove(_ subscriber: Subscriber) async
    /// A snapshot of one topic, if it exists.
    func topicInfo(_ name: String) async -> TopicInfo?
    /// Deletes a topic: its subscribers get `deleted`, its next use starts a new epoch. Returns whether it existed.
    func deleteTopic(_ name: String) async -> Bool
    /// Reads at most `limit` buffered events of `topic` from `start`, never waiting; nil when
    /// the topic does not exist and `create` is false.
    func read(topic: String, from start: StartPosition, limit: Int, create: Bool) async throws(EngineError) -> TopicRead?
    /// Leaves `waiter` on `topic` to be fired by its next event or its deletion, unless the
    /// topic already moved past `after` in `epoch` (or is gone); returns whether it was left.
    func watch(_ waiter: TopicWaiter, topic: String, epoch: String, after: UInt64) async -> Bool
    /// Takes `waiter` off `topic` again.
    func unwatch(_ waiter: TopicWaiter, topic: String) async
}
