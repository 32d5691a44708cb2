/// A Lua script Redis runs atomically, named by the SHA-1 of its source as Redis names it.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// SHA-1 of the source in lowercase hex, as `SCRIPT LOAD` answers it.
    public let sha1: String

    /// Creates a script; its SHA-1 is computed here.
    public init(_ source: String) {
        self.source = source
        self.sha1 = sha1Hex(source.utf8)
    }
}

extension RedisCommands {
    /// Runs a script by `EVALSHA`; when Redis answers `NOSCRIPT` (its script cache was flushed, or
    /// it restarted), runs it by `EVAL`, which also caches it for the next `EVALSHA`.
    @discardableResult
    public func evalScript(
        _ script: RedisScript,
        keys: [RedisArgument] = [],
        args: [RedisArgument] = []
    ) async throws(RedisError) -> RESP3Value {
        let tail = [RedisArgument(keys.count)] + keys + args
        do {
            return try await send(["EVALSHA", RedisArgument(script.sha1)] + tail)
        } catch where error.serverCode == "NOSCRIPT" {
            return try await send(["EVAL", RedisArgument(script.source)] + tail)
        }
    }

    /// `SCRIPT LOAD`: puts the script in the server's cache ahead of its first use.
    public func loadScript(_ script: RedisScript) async throws(RedisError) {
        let reply = try await send(["SCRIPT", "LOAD", RedisArgument(script.source)])
        guard reply.string == script.sha1 else {
            throw .unexpectedReply("SCRIPT LOAD answered \(reply), expected \(script.sha1)")
        }
    }
}
