public import SwitchboardCore

/// Everything a broker needs to run; the defaults are the embedded defaults of `switchboard`.
public struct BrokerConfiguration: Sendable, Equatable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free one.
    public var port: Int
    /// The topic engine's settings.
    public var engine: EngineConfiguration
    /// The most bytes of frames queued for one subscriber before the slow-consumer policy applies.
    public var subscriberQueueBytes: Int
    /// What happens to a subscriber that reads too slowly.
    public var slowConsumer: SlowConsumerPolicy
    /// Seconds between WebSocket pings; a connection that does not answer is closed.
    public var pingIntervalSeconds: Int
    /// Seconds a SIGTERM waits for connections to close before the process exits.
    public var drainTimeoutSeconds: Int
    /// The largest frame a WebSocket client may send, in bytes (larger: close 1009).
    public var maxClientFrameBytes: Int
    /// The most subscriptions one WebSocket connection may hold.
    public var maxSubscriptionsPerConnection: Int
    /// The most WebSocket and SSE connections open at once (more: 429 `limit_reached`).
    public var maxConnections: Int
    /// The most WebSocket and SSE connections open at once from one remote IP address.
    public var maxConnectionsPerIP: Int
    /// Events per second one credential (or, anonymous, one IP address) may publish; 0: no limit.
    public var publishRate: Int
    /// Events one credential may publish in a burst above the rate; 0: one second's worth.
    public var publishBurst: Int
    /// The most long-polls that may wait at once in this process (more: 429).
    public var maxWaitingPolls: Int
    /// Seconds between heartbeat comments on an idle SSE stream.
    public var sseHeartbeatSeconds: Double
    /// Seconds a request head (request line and header fields) may take to arrive; then the connection closes.
    public var headerTimeoutSeconds: Double
    /// Browser origins whose pages may use the broker (`https://dash.example.com`, or `*`); empty: none but its own.
    public var allowedOrigins: [String]
    /// Serve anyone on a non-loopback address although no credentials are configured.
    public var allowAnonymous: Bool
    /// Who may publish, subscribe and administer (tokens and JWT keys).
    public var credentials: Credentials

    /// Credential settings as the contract names them.
    public struct Credentials: Sendable, Equatable {
        /// A token that may do everything.
        public var adminToken: String?
        /// Tokens that may publish to any topic.
        public var publishTokens: [String]
        /// The HS256 secret for JWTs.
        public var jwtSecret: String?
        /// A PEM file with the RS256/ES256 public key for JWTs.
        public var jwtPublicKeyFile: String?
        /// Serve `/metrics` without credentials.
        public var metricsPublic: Bool

        /// No credentials.
        public init(adminToken: String? = nil, publishTokens: [String] = [], jwtSecret: String? = nil, jwtPublicKeyFile: String? = nil, metricsPublic: Bool = false) {
            self.adminToken = adminToken
            self.publishTokens = publishTokens
            self.jwtSecret = jwtSecret
            self.jwtPublicKeyFile = jwtPublicKeyFile
            self.metricsPublic = metricsPublic
        }

        /// Whether any credential is configured.
        public var isConfigured: Bool {
            adminToken != nil || !publishTokens.isEmpty || jwtSecret != nil || jwtPublicKeyFile != nil
        }
    }

    /// Creates a configuration; every argument has the embedded default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        engine: EngineConfiguration = .init(),
        subscriberQueueBytes: Int = 4_194_304,
        slowConsumer: SlowConsumerPolicy = .drop,
        pingIntervalSeconds: Int = 20,
        drainTimeoutSeconds: Int = 10,
        maxClientFrameBytes: Int = 65_536,
        maxSubscriptionsPerConnection: Int = 1000,
        maxConnections: Int = 10_000,
        maxConnectionsPerIP: Int = 1000,
        publishRate: Int = 0,
        publishBurst: Int = 0,
        maxWaitingPolls: Int = 20_000,
        sseHeartbeatSeconds: Double = 15,
        headerTimeoutSeconds: Double = 10,
        allowedOrigins: [String] = [],
        allowAnonymous: Bool = false,
        credentials: Credentials = .init()
    ) {
        self.host = host
        self.port = port
        self.engine = engine
        self.subscriberQueueBytes = subscriberQueueBytes
        self.slowConsumer = slowConsumer
        self.pingIntervalSeconds = pingIntervalSeconds
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.maxClientFrameBytes = maxClientFrameBytes
        self.maxSubscriptionsPerConnection = maxSubscriptionsPerConnection
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.publishRate = publishRate
        self.publishBurst = publishBurst
        self.maxWaitingPolls = maxWaitingPolls
        self.sseHeartbeatSeconds = sseHeartbeatSeconds
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.allowedOrigins = allowedOrigins
        self.allowAnonymous = allowAnonymous
        self.credentials = credentials
    }

    /// Whether `host` is a loopback address or name.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// Checks the combination of settings before anything starts (key files are read by the broker).
    public func validate() throws(ConfigurationError) {
        if !credentials.isConfigured && !Self.isLoopback(host) && !allowAnonymous {
            throw ConfigurationError("refusing to listen on \(host): no credentials are configured, so the broker only binds to loopback (127.0.0.0/8, ::1, localhost); pass --allow-anonymous to serve anyone on \(host)")
        }
    }
}

/// A setting that cannot be used, with a message for the operator.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// What is wrong and how to fix it.
    public let description: String

    /// Creates an error with a message.
    public init(_ description: String) { self.description = description }
}

extension BrokerConfiguration.Credentials: CustomStringConvertible, CustomDebugStringConvertible {
    /// Which credentials are set, never their values: a description can reach a log line.
    public var description: String {
        "Credentials(admin_token: \(adminToken == nil ? "unset" : "set"), publish_tokens: \(publishTokens.count), "
            + "jwt_secret: \(jwtSecret == nil ? "unset" : "set"), jwt_public_key_file: \(jwtPublicKeyFile ?? "unset"), metrics_public: \(metricsPublic))"
    }

    /// The same as ``description``: no secret in a debug description either.
    public var debugDescription: String { description }
}
