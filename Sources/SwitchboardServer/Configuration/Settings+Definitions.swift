import SwitchboardCore

extension Settings {
    /// Every setting, in the order `--help` lists them.
    public static let definitions: [Definition] = [
        text("host", "Address to listen on (default 127.0.0.1).") { $0.host = $1 },
        int("port", "Port to listen on; 0 picks a free one (default 8080).", 0...65535) { $0.port = $1 },
        int("ring_capacity", "Events kept per topic (default 1024).", 1...10_000_000) { $0.engine.ringLimits.capacity = $1 },
        int("ring_max_bytes", "Payload bytes kept per topic (default 8388608).", 1...Int(Int32.max)) { $0.engine.ringLimits.maxBytes = $1 },
        int("ring_ttl", "Seconds an event is kept; 0 means no age limit (default 0).", 0...31_536_000) { $0.engine.ringLimits.ttlSeconds = $1 },
        int("max_payload_bytes", "Largest event payload in bytes (default 1048576).", 0...64 * 1_048_576) { $0.engine.maxPayloadBytes = $1 },
        int("max_topics", "Most topics at once (default 100000).", 1...10_000_000) { $0.engine.maxTopics = $1 },
        int("idle_topic_seconds", "A topic with no subscribers and no event for this long is dropped (default 3600).", 1...31_536_000) { $0.engine.idleTopicSeconds = $1 },
        int("subscriber_queue_bytes", "Bytes queued per subscriber before the slow-consumer policy applies (default 4194304).", 1024...Int(Int32.max)) { $0.subscriberQueueBytes = $1 },
        text("slow_consumer", "drop (send gap and continue) or disconnect (close 4008) (default drop).") { configuration, value throws(ConfigurationError) in
            guard let policy = SlowConsumerPolicy(rawValue: value) else { throw ConfigurationError("slow_consumer must be drop or disconnect, not '\(value)'") }
            configuration.slowConsumer = policy
        },
        int("ping_interval", "Seconds between WebSocket pings (default 20).", 1...3600) { $0.pingIntervalSeconds = $1 },
        int("drain_timeout", "Seconds to drain connections on SIGTERM (default 10).", 0...3600) { $0.drainTimeoutSeconds = $1 },
        int("zstd_level", "zstd compression level, 1 (fast) to 19 (default 3).", 1...19) { $0.engine.zstdLevel = Int32($1) },
        int("max_client_frame_bytes", "Largest frame a WebSocket client may send; larger closes with 1009 (default 65536).", 128...16 * 1_048_576) { $0.maxClientFrameBytes = $1 },
        int("max_subscriptions_per_connection", "Most subscriptions per WebSocket connection (default 1000).", 1...1_000_000) { $0.maxSubscriptionsPerConnection = $1 },
        int("max_connections", "Most WebSocket and SSE connections at once; more get 429 limit_reached (default 10000).", 1...10_000_000) { $0.maxConnections = $1 },
        int("max_connections_per_ip", "Most WebSocket and SSE connections at once from one IP address (default 1000).", 1...10_000_000) { $0.maxConnectionsPerIP = $1 },
        int("publish_rate", "Events per second each credential (anonymous: each IP address) may publish; 0 means no limit (default 0).", 0...100_000_000) { $0.publishRate = $1 },
        int("publish_burst", "Events a credential may publish at once above publish_rate; 0 means one second's worth (default 0).", 0...100_000_000) { $0.publishBurst = $1 },
        int("max_waiting_polls", "Most long-polls waiting at once; more answer 429 (default 20000).", 1...1_000_000) { $0.maxWaitingPolls = $1 },
        int("sse_heartbeat_seconds", "Seconds between keep-alive comments on an idle SSE stream (default 15).", 1...3600) { $0.sseHeartbeatSeconds = Double($1) },
        int("header_timeout", "Seconds a request head may take to arrive before the connection is closed (default 10).", 1...3600) { $0.headerTimeoutSeconds = Double($1) },
        text("allowed_origins", "Comma-separated browser origins (https://dash.example.com) whose pages may use the broker, or * (default none but the broker's own).") {
            configuration, value throws(ConfigurationError) in
            configuration.allowedOrigins = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            _ = try OriginPolicy(allowed: configuration.allowedOrigins)
        },
        flag("allow_anonymous", "Serve a non-loopback address without credentials.") { $0.allowAnonymous = $1 },
        text("admin_token", "Static token that may do everything (publish, subscribe, admin, metrics).") { $0.credentials.adminToken = $1 },
        Definition(name: "publish_token", help: "Static token that may publish to any topic and nothing else (repeatable).", isFlag: false, isList: true) { configuration, values throws(ConfigurationError) in
            configuration.credentials.publishTokens = values
        },
        text("jwt_secret", "HS256 secret for JWTs, at least 32 bytes.") { $0.credentials.jwtSecret = $1 },
        text("jwt_public_key", "PEM file with the RS256 or ES256 (P-256) public key for JWTs; the key type is detected.") { $0.credentials.jwtPublicKeyFile = $1 },
        flag("metrics_public", "Serve /metrics without credentials (otherwise admin-only once credentials are configured).") { $0.credentials.metricsPublic = $1 },
    ]

    private static func text(_ name: String, _ help: String, _ set: @escaping @Sendable (inout BrokerConfiguration, String) throws(ConfigurationError) -> Void) -> Definition {
        Definition(name: name, help: help, isFlag: false, isList: false) { configuration, values throws(ConfigurationError) in
            try set(&configuration, values.last ?? "")
        }
    }

    private static func int(_ name: String, _ help: String, _ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout BrokerConfiguration, Int) -> Void) -> Definition {
        Definition(name: name, help: help, isFlag: false, isList: false) { configuration, values throws(ConfigurationError) in
            let text = values.last ?? ""
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            set(&configuration, value)
        }
    }

    private static func flag(_ name: String, _ help: String, _ set: @escaping @Sendable (inout BrokerConfiguration, Bool) -> Void) -> Definition {
        Definition(name: name, help: help, isFlag: true, isList: false) { configuration, values throws(ConfigurationError) in
            switch (values.last ?? "true").lowercased() {
            case "true", "1", "yes", "on", "": set(&configuration, true)
            case "false", "0", "no", "off": set(&configuration, false)
            case let other: throw ConfigurationError("\(name) must be true or false, not '\(other)'")
            }
        }
    }
}
