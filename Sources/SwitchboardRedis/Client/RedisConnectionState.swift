/// Whether a client or subscriber has a working connection to Redis.
public enum RedisConnectionState: Sendable, Hashable {
    /// Connected and past the handshake (for a subscriber: subscriptions in place again).
    case connected
    /// Not connected: commands fail with ``RedisError/unavailable`` while it reconnects.
    case disconnected
}
