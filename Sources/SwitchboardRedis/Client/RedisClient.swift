public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// A Redis client that keeps one pipelined connection up: it reconnects with exponential backoff
/// and full jitter, reports each change of state, and fails commands at once with
/// ``RedisError/unavailable`` while there is no connection.
///
/// Call ``run()`` in a task that lives as long as the client (a service's `run`); cancel it to stop.
public final class RedisClient: RedisCommands {
    /// What the client was configured with.
    public let configuration: RedisConfiguration
    /// Each change of connection state, newest kept when nobody reads; ends when ``run()`` returns.
    public let stateChanges: AsyncStream<RedisConnectionState>
    private let stateContinuation: AsyncStream<RedisConnectionState>.Continuation
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let backoff: Backoff

    private struct State {
        var connection: RedisConnection?
        var reported: RedisConnectionState = .disconnected
    }

    private let state = Mutex(State())

    /// Creates a client; it connects once ``run()`` is called.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.backoff = Backoff(minimum: configuration.minimumBackoff, maximum: configuration.maximumBackoff)
        (self.stateChanges, self.stateContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(64))
    }

    /// The state now.
    public var connectionState: RedisConnectionState {
        state.withLock { $0.reported }
    }

    /// Connects, and reconnects whenever the connection is lost, until the calling task is cancelled.
    public func run() async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration,
                    eventLoopGroup: eventLoopGroup,
                    logger: logger
                )
                attempt = 0
                publish(connection)
                logger.info("Connected to Redis", metadata: ["redis": "\(configuration.host):\(configuration.port)"])
                await connection.watch(healthCheckInterval: configuration.healthCheckInterval, logger: logger)
                publish(nil)
                if !Task.isCancelled { logger.warning("Lost the connection to Redis; reconnecting") }
            } catch {
                logger.debug("Could not connect to Redis", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            if Task.isCancelled { break }
            let delay = backoff.delay(attempt: attempt)
            attempt += 1
            do { try await Task.sleep(for: delay) } catch { break }
        }
        if let connection = state.withLock({ $0.connection }) { await connection.close() }
        publish(nil)
        stateContinuation.finish()
    }

    private func publish(_ connection: RedisConnection?) {
        let changed: RedisConnectionState? = state.withLock { state in
            state.connection = connection
            let now: RedisConnectionState = connection == nil ? .disconnected : .connected
            guard now != state.reported else { return nil }
            state.reported = now
            return now
        }
        if let changed { stateContinuation.yield(changed) }
    }

    /// The connection now, or ``RedisError/unavailable``.
    public func connection() throws(RedisError) -> RedisConnection {
        guard let connection = state.withLock({ $0.connection }), connection.isActive else {
            throw .unavailable("not connected to \(configuration.host):\(configuration.port)")
        }
        return connection
    }

    /// Sends one command on the shared connection; ``RedisError/unavailable`` at once while disconnected.
    @discardableResult
    public func send(_ command: [RedisArgument]) async throws(RedisError) -> RESP3Value {
        try await connection().send(command)
    }

    /// Sends many commands in one write on the shared connection and returns each reply or error, in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws(RedisError) -> [Result<RESP3Value, RedisError>] {
        try await connection().pipeline(commands)
    }

    /// Waits until connected, or throws ``RedisError/unavailable`` after `timeout`.
    public func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if (try? connection()) != nil { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw .unavailable("not connected within \(timeout)")
    }
}
