public import NIOCore

/// Anything that sends a command and returns its reply: a ``RedisConnection`` or a ``RedisClient``.
public protocol RedisCommands: Sendable {
    /// Sends one command; an error reply throws ``RedisError/server``.
    @discardableResult
    func send(_ command: [RedisArgument]) async throws(RedisError) -> RESP3Value
}

extension RedisCommands {
    /// Sends one command given as text.
    @discardableResult
    public func send(_ command: [String]) async throws(RedisError) -> RESP3Value {
        try await send(command.map { RedisArgument($0) })
    }

    /// `PING`: true when the server answered `PONG`.
    public func ping() async throws(RedisError) -> Bool {
        try await send(["PING"]).string == "PONG"
    }

    /// `GET key`: the value's bytes, or nil when the key does not exist.
    public func get(_ key: String) async throws(RedisError) -> ByteBuffer? {
        let reply = try await send(["GET", RedisArgument(key)])
        if reply.isNull { return nil }
        guard let bytes = reply.bytes else { throw .unexpectedReply("GET answered \(reply)") }
        return bytes
    }

    /// `SET key value`.
    public func set(_ key: String, to value: RedisArgument) async throws(RedisError) {
        try await send(["SET", RedisArgument(key), value])
    }

    /// `PUBLISH channel message`: how many subscribers of that server received it.
    @discardableResult
    public func publish(_ message: RedisArgument, to channel: String) async throws(RedisError) -> Int64 {
        let reply = try await send(["PUBLISH", RedisArgument(channel), message])
        guard let count = reply.int else { throw .unexpectedReply("PUBLISH answered \(reply)") }
        return count
    }
}

extension RedisConnection: RedisCommands {}
