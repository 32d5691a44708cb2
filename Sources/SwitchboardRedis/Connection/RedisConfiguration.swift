/// Where and how to reach Redis: address, credentials, database, timeouts and backoff.
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// ACL user name; nil for `default`.
    public var username: String?
    /// Password; nil for none.
    public var password: String?
    /// Logical database selected after connecting.
    public var database: Int
    /// Longest a TCP connect plus handshake may take.
    public var connectTimeout: Duration
    /// Longest a command waits for its reply.
    public var commandTimeout: Duration
    /// Shortest wait before reconnecting (first attempt's upper bound).
    public var minimumBackoff: Duration
    /// Longest wait before reconnecting.
    public var maximumBackoff: Duration
    /// How often an idle-or-not connection of a client or subscriber is checked with `PING`; a
    /// `PING` unanswered within `commandTimeout` closes it so it reconnects. Nil: never.
    public var healthCheckInterval: Duration?
    /// Name given to each connection with `CLIENT SETNAME` (in `HELLO`); nil for none.
    public var clientName: String?
    /// Limits on what the decoder accepts from the server.
    public var decoderLimits: RESP3Decoder.Limits

    /// Creates a configuration; the defaults reach a local Redis on its usual port.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2),
        minimumBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(5),
        healthCheckInterval: Duration? = .seconds(1),
        clientName: String? = nil,
        decoderLimits: RESP3Decoder.Limits = .init()
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.minimumBackoff = minimumBackoff
        self.maximumBackoff = maximumBackoff
        self.healthCheckInterval = healthCheckInterval
        self.clientName = clientName
        self.decoderLimits = decoderLimits
    }

    /// Creates a configuration from `redis://[[user]:password@]host[:port][/db]`, other fields defaulted.
    public init(url: String) throws(RedisError) {
        self.init()
        let parsed = try RedisURL.parse(url)
        self.host = parsed.host
        self.port = parsed.port
        self.username = parsed.username
        self.password = parsed.password
        self.database = parsed.database
    }
}

/// The parts of a `redis://` URL.
struct RedisURL: Equatable {
    var host: String
    var port: Int
    var username: String?
    var password: String?
    var database: Int

    static func parse(_ url: String) throws(RedisError) -> RedisURL {
        guard url.hasPrefix("redis://") else {
            throw .invalidURL("'\(url.prefix(80))' does not start with redis:// (rediss:// and unix sockets are not supported)")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        guard !rest.contains(where: { $0 == "?" || $0 == "#" }) else {
            throw .invalidURL("query and fragment are not supported")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw .invalidURL("credentials must be ':password' or 'user:password'")
            }
            let user = try decodePercent(userinfo[..<colon])
            let pass = try decodePercent(userinfo[userinfo.index(after: colon)...])
            guard !pass.isEmpty else { throw .invalidURL("the password is empty") }
            username = user.isEmpty ? nil : user
            password = pass
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard db.allSatisfy(\.isASCII), let n = Int(db), n >= 0, n <= 1_000_000 else {
                    throw .invalidURL("the database '\(db.prefix(20))' is not a number from 0")
                }
                database = n
            }
        }
        var host = rest
        var port = 6379
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .invalidURL("unclosed '[' in the host") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("junk after ']' in the host") }
                port = try parsePort(after.dropFirst())
            }
        } else if let colon = host.lastIndex(of: ":") {
            port = try parsePort(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw .invalidURL("the host is empty") }
        guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") })
        else { throw .invalidURL("the host '\(host.prefix(80))' has characters a host name cannot have") }
        return RedisURL(host: String(host), port: port, username: username, password: password, database: database)
    }

    private static func parsePort(_ text: Substring) throws(RedisError) -> Int {
        guard text.allSatisfy(\.isASCII), let port = Int(text), (1...65535).contains(port) else {
            throw .invalidURL("the port '\(text.prefix(20))' is not a number from 1 to 65535")
        }
        return port
    }

    private static func decodePercent(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                throw .invalidURL("a '%' in the credentials is not followed by two hex digits")
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
