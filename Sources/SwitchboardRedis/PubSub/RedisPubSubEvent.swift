public import NIOCore

/// What a ``RedisSubscriber`` delivers, in the order it happened on its connection.
public enum RedisPubSubEvent: Sendable, Equatable {
    /// A message published to a channel this subscriber follows.
    case message(channel: String, payload: ByteBuffer)
    /// A message published to a channel that matched one of this subscriber's patterns.
    case patternMessage(pattern: String, channel: String, payload: ByteBuffer)
    /// Connected and every subscription in place. `reconnected` is true after a lost connection:
    /// messages published while it was down were missed, and the caller should fill them in.
    case connected(reconnected: Bool)
    /// The connection was lost; subscriptions are kept and made again once reconnected.
    case disconnected

    /// Reads a RESP3 push frame; nil for frames that are not messages (subscription confirmations).
    init?(push: RESP3Value) {
        guard let items = push.array, let kind = items.first?.string else { return nil }
        switch kind {
        case "message" where items.count == 3:
            guard let channel = items[1].string, let payload = items[2].bytes else { return nil }
            self = .message(channel: channel, payload: payload)
        case "pmessage" where items.count == 4:
            guard let pattern = items[1].string, let channel = items[2].string, let payload = items[3].bytes else { return nil }
            self = .patternMessage(pattern: pattern, channel: channel, payload: payload)
        default:
            return nil
        }
    }
}
