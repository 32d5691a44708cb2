/// Errors of the Redis client: connection trouble, time-outs, and error replies from the server.
///
/// Two errors are equal when they are of the same kind, whatever their message, so
/// `error == .unavailable` asks "is this the unavailable kind".
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case invalidURL
        case connectFailed
        case connectTimeout
        case unavailable
        case timeout
        case connectionClosed
        case protocolError
        case server
        case unexpectedReply
    }

    private let kind: Kind
    /// Details: the server's message for `.server`, the reason for the others.
    public let message: String

    private init(_ kind: Kind, _ message: String = "") {
        self.kind = kind
        self.message = message
    }

    /// The URL is not `redis://[[user]:password@]host[:port][/db]`.
    public static var invalidURL: Self { .init(.invalidURL) }
    /// The TCP connection or the handshake (`HELLO`, `AUTH`, `SELECT`) failed.
    public static var connectFailed: Self { .init(.connectFailed) }
    /// Connecting took longer than the connect timeout.
    public static var connectTimeout: Self { .init(.connectTimeout) }
    /// There is no connection to Redis now; the client is reconnecting.
    public static var unavailable: Self { .init(.unavailable) }
    /// The command got no reply within its timeout (it may still have run).
    public static var timeout: Self { .init(.timeout) }
    /// The connection closed before the reply came (the command may have run).
    public static var connectionClosed: Self { .init(.connectionClosed) }
    /// The server sent bytes that are not RESP, or broke a decoder limit.
    public static var protocolError: Self { .init(.protocolError) }
    /// The server answered with an error reply; `message` holds it, `serverCode` its first word.
    public static var server: Self { .init(.server) }
    /// The reply is not of the shape the call expected.
    public static var unexpectedReply: Self { .init(.unexpectedReply) }

    static func invalidURL(_ reason: String) -> Self { .init(.invalidURL, reason) }
    static func connectFailed(_ reason: String) -> Self { .init(.connectFailed, reason) }
    static func connectTimeout(_ reason: String) -> Self { .init(.connectTimeout, reason) }
    static func unavailable(_ reason: String) -> Self { .init(.unavailable, reason) }
    static func timeout(_ reason: String) -> Self { .init(.timeout, reason) }
    static func connectionClosed(_ reason: String) -> Self { .init(.connectionClosed, reason) }
    static func protocolError(_ reason: String) -> Self { .init(.protocolError, reason) }
    static func server(_ message: String) -> Self { .init(.server, message) }
    static func unexpectedReply(_ reason: String) -> Self { .init(.unexpectedReply, reason) }

    /// The first word of a server error (`ERR`, `NOSCRIPT`, `WRONGPASS`, …); nil for other kinds.
    public var serverCode: Substring? {
        guard kind == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    /// Same kind of error, whatever the messages.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind }

    /// The kind in words, and the message.
    public var description: String {
        let what =
            switch kind {
            case .invalidURL: "invalid Redis URL"
            case .connectFailed: "could not connect to Redis"
            case .connectTimeout: "timed out connecting to Redis"
            case .unavailable: "Redis is unavailable"
            case .timeout: "Redis command timed out"
            case .connectionClosed: "Redis connection closed"
            case .protocolError: "Redis protocol error"
            case .server: "Redis error"
            case .unexpectedReply: "unexpected Redis reply"
            }
        return message.isEmpty ? what : "\(what): \(message)"
    }
}
