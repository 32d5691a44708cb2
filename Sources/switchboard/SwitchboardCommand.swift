import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardServer

/// `switchboard`: runs the broker. Settings come from `--config`, then `SWITCHBOARD_*`
/// variables, then flags, each overriding the one before.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Switchboard: a live-data publish/subscribe broker (HTTP publish, WebSocket, zstd).",
        discussion: "Every flag has an environment variable: SWITCHBOARD_ plus its name in UPPER_SNAKE (e.g. SWITCHBOARD_RING_CAPACITY). A configuration file (JSON or YAML, same names in snake_case) is overridden by variables, and variables by flags.",
        version: "switchboard \(BuildInfo.version)"
    )

    @Option(help: "Configuration file, .json or .yaml (SWITCHBOARD_CONFIG).") var config: String?
    @Option(help: help("host")) var host: String?
    @Option(help: help("port")) var port: String?
    @Option(help: help("ring_capacity")) var ringCapacity: String?
    @Option(help: help("ring_max_bytes")) var ringMaxBytes: String?
    @Option(help: help("ring_ttl")) var ringTtl: String?
    @Option(help: help("max_payload_bytes")) var maxPayloadBytes: String?
    @Option(help: help("max_topics")) var maxTopics: String?
    @Option(help: help("idle_topic_seconds")) var idleTopicSeconds: String?
    @Option(help: help("subscriber_queue_bytes")) var subscriberQueueBytes: String?
    @Option(help: help("slow_consumer")) var slowConsumer: String?
    @Option(help: help("ping_interval")) var pingInterval: String?
    @Option(help: help("drain_timeout")) var drainTimeout: String?
    @Option(help: help("zstd_level")) var zstdLevel: String?
    @Option(help: help("max_client_frame_bytes")) var maxClientFrameBytes: String?
    @Option(help: help("max_subscriptions_per_connection")) var maxSubscriptionsPerConnection: String?
    @Option(help: help("max_connections")) var maxConnections: String?
    @Option(help: help("max_connections_per_ip")) var maxConnectionsPerIp: String?
    @Option(help: help("publish_rate")) var publishRate: String?
    @Option(help: help("publish_burst")) var publishBurst: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical (default info) (SWITCHBOARD_LOG_LEVEL).") var logLevel: String?
    @Option(help: help("max_waiting_polls")) var maxWaitingPolls: String?
    @Option(help: help("sse_heartbeat_seconds")) var sseHeartbeatSeconds: String?
    @Flag(help: help("allow_anonymous")) var allowAnonymous = false
    @Option(help: help("admin_token")) var adminToken: String?
    @Option(help: help("publish_token")) var publishToken: [String] = []
    @Option(help: help("jwt_secret")) var jwtSecret: String?
    @Option(help: help("jwt_public_key")) var jwtPublicKey: String?
    @Flag(help: help("metrics_public")) var metricsPublic = false

    private static func help(_ name: String) -> ArgumentHelp {
        let definition = Settings.definitions.first { $0.name == name }!
        return ArgumentHelp("\(definition.help) (\(definition.environmentVariable))")
    }

    /// The layer the flags give: only the flags that were set.
    private var flagLayer: Settings.Layer {
        var layer: Settings.Layer = [:]
        let values: [(String, String?)] = [
            ("host", host), ("port", port), ("ring_capacity", ringCapacity), ("ring_max_bytes", ringMaxBytes),
            ("ring_ttl", ringTtl), ("max_payload_bytes", maxPayloadBytes), ("max_topics", maxTopics),
            ("idle_topic_seconds", idleTopicSeconds), ("subscriber_queue_bytes", subscriberQueueBytes),
            ("slow_consumer", slowConsumer), ("ping_interval", pingInterval), ("drain_timeout", drainTimeout),
            ("zstd_level", zstdLevel), ("max_client_frame_bytes", maxClientFrameBytes),
            ("max_subscriptions_per_connection", maxSubscriptionsPerConnection), ("max_connections", maxConnections),
            ("max_connections_per_ip", maxConnectionsPerIp), ("publish_rate", publishRate), ("publish_burst", publishBurst),
            ("admin_token", adminToken),
            ("max_waiting_polls", maxWaitingPolls), ("sse_heartbeat_seconds", sseHeartbeatSeconds),
            ("jwt_secret", jwtSecret), ("jwt_public_key", jwtPublicKey),
        ]
        for case let (name, value?) in values { layer[name] = [value] }
        if allowAnonymous { layer["allow_anonymous"] = ["true"] }
        if metricsPublic { layer["metrics_public"] = ["true"] }
        if !publishToken.isEmpty { layer["publish_token"] = publishToken }
        return layer
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokerConfiguration: BrokerConfiguration
        let broker: Broker
        let level = Logger.Level(rawValue: (logLevel ?? environment["SWITCHBOARD_LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchboard")
        do {
            var layers: [(source: Settings.Source, layer: Settings.Layer)] = []
            if let path = config ?? environment["SWITCHBOARD_CONFIG"] {
                layers.append((.file(path), try Settings.fileLayer(path: path)))
            }
            layers.append((.environment, Settings.environmentLayer(environment)))
            layers.append((.flags, flagLayer))
            brokerConfiguration = try Settings.apply(layers)
            broker = try Broker(configuration: brokerConfiguration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let services = broker.services { host, port in
            // FileHandle writes straight to the descriptor, so the line is out before anything waits on it.
            FileHandle.standardOutput.write(Data((listeningLine(host: host, port: port) + "\n").utf8))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
