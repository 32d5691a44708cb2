public import Synchronization

/// Counters the engine keeps for operators and metrics.
public final class EngineStats: Sendable {
    /// Events accepted by publishes.
    public let eventsPublished = Atomic<UInt64>(0)
    /// Events handed to subscriber queues.
    public let eventsDelivered = Atomic<UInt64>(0)
    /// Events dropped from queues of subscribers that read too slowly.
    public let eventsDropped = Atomic<UInt64>(0)
    /// Gap messages sent, for any reason.
    public let gaps = Atomic<UInt64>(0)
    /// Connections closed with 4008 for reading too slowly.
    public let slowDisconnects = Atomic<UInt64>(0)
    /// Payload bytes received by publishes.
    public let bytesReceived = Atomic<UInt64>(0)

    /// Creates zeroed counters.
    public init() {}
}
