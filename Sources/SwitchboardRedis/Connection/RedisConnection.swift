public import Logging
public import NIOCore
public import NIOPosix

/// One TCP connection to Redis, past its handshake: commands are pipelined on it, replies matched in order.
///
/// Made by ``connect(configuration:eventLoopGroup:logger:onPush:)``; it does not reconnect
/// (``RedisClient`` and ``RedisSubscriber`` do). Safe to use from many tasks at once.
public final class RedisConnection: Sendable {
    /// The NIO channel under the connection.
    public let channel: any Channel
    /// The RESP version agreed with the server: 3, or 2 for a server that does not know `HELLO`.
    public let protocolVersion: Int
    /// The server's `HELLO` answer (server, version, proto, id, mode, role, modules); `.null` on RESP2.
    public let serverInfo: RESP3Value
    let commandTimeout: TimeAmount

    private init(channel: any Channel, protocolVersion: Int, serverInfo: RESP3Value, commandTimeout: TimeAmount) {
        self.channel = channel
        self.protocolVersion = protocolVersion
        self.serverInfo = serverInfo
        self.commandTimeout = commandTimeout
    }

    /// Connects, says `HELLO 3` (with `AUTH` and `SETNAME` when configured) and `SELECT`s the database.
    ///
    /// `onPush` receives the push frames (pub/sub messages) on the connection's event loop.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "switchboard.redis"),
        onPush: (@Sendable (RESP3Value) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        let connectTimeout = TimeAmount(configuration.connectTimeout)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RedisCommandHandler(limits: configuration.decoderLimits, logger: logger, onPush: onPush)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch ChannelError.connectTimeout {
            throw .connectTimeout("\(configuration.host):\(configuration.port) within \(configuration.connectTimeout)")
        } catch {
            throw .connectFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        do {
            return try await handshake(channel: channel, configuration: configuration, timeout: connectTimeout)
        } catch {
            channel.close(promise: nil)
            if error == .timeout {
                throw .connectTimeout("\(configuration.host):\(configuration.port) accepted but did not answer HELLO within \(configuration.connectTimeout)")
            }
            throw error
        }
    }

    private static func handshake(
        channel: any Channel,
        configuration: RedisConfiguration,
        timeout: TimeAmount
    ) async throws(RedisError) -> RedisConnection {
        var hello: [RedisArgument] = ["HELLO", "3"]
        if let password = configuration.password {
            hello += ["AUTH", RedisArgument(configuration.username ?? "default"), RedisArgument(password)]
        }
        if let name = configuration.clientName { hello += ["SETNAME", RedisArgument(name)] }
        var version = 3
        var info = RESP3Value.null
        let reply = try await send(hello, on: channel, timeout: timeout)
        if let message = reply.errorMessage {
            // A server before Redis 6 has no HELLO: stay on RESP2 and authenticate the old way.
            guard message.hasPrefix("NOPROTO") || message.lowercased().contains("unknown command") else {
                throw .connectFailed("HELLO: \(message)")
            }
            version = 2
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let user = configuration.username { auth.append(RedisArgument(user)) }
                auth.append(RedisArgument(password))
                if let message = try await send(auth, on: channel, timeout: timeout).errorMessage {
                    throw .connectFailed("AUTH: \(message)")
                }
            }
            if let name = configuration.clientName,
                let message = try await send(["CLIENT", "SETNAME", RedisArgument(name)], on: channel, timeout: timeout).errorMessage
            {
                throw .connectFailed("CLIENT SETNAME: \(message)")
            }
        } else {
            info = reply
        }
        if configuration.database != 0,
            let message = try await send(["SELECT", RedisArgument(configuration.database)], on: channel, timeout: timeout).errorMessage
        {
            throw .connectFailed("SELECT \(configuration.database): \(message)")
        }
        return RedisConnection(
            channel: channel,
            protocolVersion: version,
            serverInfo: info,
            commandTimeout: TimeAmount(configuration.commandTimeout)
        )
    }

    /// Sends one command and returns its reply; an error reply throws ``RedisError/server``.
    @discardableResult
    public func send(_ command: [RedisArgument]) async throws(RedisError) -> RESP3Value {
        let reply = try await Self.send(command, on: channel, timeout: commandTimeout)
        if let message = reply.errorMessage { throw .server(message) }
        return reply
    }

    /// Sends many commands in one write and returns each reply or error, in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws(RedisError) -> [Result<RESP3Value, RedisError>] {
        var bytes = ByteBuffer()
        var promises: [EventLoopPromise<RESP3Value>] = []
        promises.reserveCapacity(commands.count)
        for command in commands {
            RESP3Encoder.encodeCommand(command, into: &bytes)
            promises.append(channel.eventLoop.makePromise())
        }
        Self.write(RedisRequest(bytes: bytes, replies: promises, timeout: commandTimeout), on: channel)
        var results: [Result<RESP3Value, RedisError>] = []
        results.reserveCapacity(promises.count)
        for promise in promises {
            do {
                let reply = try await promise.futureResult.get()
                if let message = reply.errorMessage {
                    results.append(.failure(.server(message)))
                } else {
                    results.append(.success(reply))
                }
            } catch let error as RedisError {
                results.append(.failure(error))
            } catch {
                results.append(.failure(.connectionClosed("\(error)")))
            }
        }
        return results
    }

    /// Writes a command that the server answers with push frames only (`SUBSCRIBE` and kin).
    func sendExpectingNoReply(_ command: [RedisArgument]) {
        Self.write(RedisRequest(bytes: RESP3Encoder.encodeCommand(command), replies: [], timeout: commandTimeout), on: channel)
    }

    /// True while the connection is open.
    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Closes the connection; replies still awaited fail with ``RedisError/connectionClosed``.
    public func close() async {
        channel.close(promise: nil)
        try? await channel.closeFuture.get()
    }

    static func send(_ command: [RedisArgument], on channel: any Channel, timeout: TimeAmount) async throws(RedisError) -> RESP3Value {
        let promise = channel.eventLoop.makePromise(of: RESP3Value.self)
        write(RedisRequest(bytes: RESP3Encoder.encodeCommand(command), replies: [promise], timeout: timeout), on: channel)
        do {
            return try await promise.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionClosed("\(error)")
        }
    }

    private static func write(_ request: RedisRequest, on channel: any Channel) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            for reply in request.replies { reply.fail(RedisError.connectionClosed("write failed: \(error)")) }
        }
        channel.writeAndFlush(request, promise: written)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
