public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// A pub/sub connection of its own, apart from the command connections: it follows channels and
/// patterns, delivers their messages (RESP3 push frames) to ``events``, and after a lost connection
/// reconnects with backoff, subscribes to everything again, and says so with
/// ``RedisPubSubEvent/connected(reconnected:)``.
///
/// Call ``run()`` in a task that lives as long as the subscriber; cancel it to stop.
public final class RedisSubscriber: Sendable {
    /// Messages and connection changes in order; one reader; buffers without bound while not read.
    public let events: AsyncStream<RedisPubSubEvent>
    private let continuation: AsyncStream<RedisPubSubEvent>.Continuation
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private struct State {
        var connection: RedisConnection?
        var channels: Set<String> = []
        var patterns: Set<String> = []
    }

    private let state = Mutex(State())

    /// Creates a subscriber; it connects once ``run()`` is called.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "switchboard.redis.pubsub")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream()
    }

    /// The channels followed now (including those waiting for a reconnect).
    public var channels: Set<String> { state.withLock { $0.channels } }
    /// The patterns followed now (including those waiting for a reconnect).
    public var patterns: Set<String> { state.withLock { $0.patterns } }

    /// Connects, subscribes, and does both again whenever the connection is lost, until cancelled.
    public func run() async {
        let backoff = Backoff(minimum: configuration.minimumBackoff, maximum: configuration.maximumBackoff)
        var attempt = 0
        var connectedBefore = false
        while !Task.isCancelled {
            do {
                let connection = try await connectAndSubscribe()
                attempt = 0
                continuation.yield(.connected(reconnected: connectedBefore))
                connectedBefore = true
                await connection.watch(healthCheckInterval: configuration.healthCheckInterval, logger: logger)
                state.withLock { $0.connection = nil }
                continuation.yield(.disconnected)
                if !Task.isCancelled { logger.warning("Lost the Redis pub/sub connection; reconnecting") }
            } catch {
                logger.debug("Could not connect the Redis pub/sub connection", metadata: ["error": "\(error)"])
            }
            if Task.isCancelled { break }
            let delay = backoff.delay(attempt: attempt)
            attempt += 1
            do { try await Task.sleep(for: delay) } catch { break }
        }
        if let connection = state.withLock({ $0.connection }) { await connection.close() }
        state.withLock { $0.connection = nil }
        continuation.finish()
    }

    private func connectAndSubscribe() async throws(RedisError) -> RedisConnection {
        let continuation = self.continuation
        let connection = try await RedisConnection.connect(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        ) { push in
            if let event = RedisPubSubEvent(push: push) { continuation.yield(event) }
        }
        do throws(RedisError) {
            guard connection.protocolVersion == 3 else {
                throw RedisError.connectFailed("pub/sub needs RESP3 (Redis 6 or later)")
            }
            let (channels, patterns) = state.withLock { state in
                state.connection = connection
                return (state.channels, state.patterns)
            }
            if !channels.isEmpty { connection.sendExpectingNoReply(["SUBSCRIBE"] + channels.sorted().map { RedisArgument($0) }) }
            if !patterns.isEmpty { connection.sendExpectingNoReply(["PSUBSCRIBE"] + patterns.sorted().map { RedisArgument($0) }) }
            // Replies and pushes come in order: once PING is answered, the confirmations have come.
            try await connection.send(["PING"])
            return connection
        } catch {
            state.withLock { $0.connection = nil }
            await connection.close()
            throw error
        }
    }

    /// Follows channels. Kept even when it throws ``RedisError/unavailable``: made once reconnected.
    public func subscribe(_ channels: [String]) async throws(RedisError) {
        try await change("SUBSCRIBE", channels) { $0.channels.formUnion(channels) }
    }

    /// Stops following channels.
    public func unsubscribe(_ channels: [String]) async throws(RedisError) {
        try await change("UNSUBSCRIBE", channels) { $0.channels.subtract(channels) }
    }

    /// Follows channels whose names match glob-style patterns.
    public func psubscribe(_ patterns: [String]) async throws(RedisError) {
        try await change("PSUBSCRIBE", patterns) { $0.patterns.formUnion(patterns) }
    }

    /// Stops following patterns.
    public func punsubscribe(_ patterns: [String]) async throws(RedisError) {
        try await change("PUNSUBSCRIBE", patterns) { $0.patterns.subtract(patterns) }
    }

    private func change(
        _ command: String,
        _ names: [String],
        _ update: (inout State) -> Void
    ) async throws(RedisError) {
        guard !names.isEmpty else { return }
        let connection = state.withLock { state in
            update(&state)
            return state.connection
        }
        guard let connection, connection.isActive else {
            throw .unavailable("the pub/sub connection is down; \(command) will be sent once reconnected")
        }
        connection.sendExpectingNoReply([RedisArgument(command)] + names.map { RedisArgument($0) })
        try await connection.send(["PING"])
    }
}
