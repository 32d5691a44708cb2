import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
public import SwitchboardCore

/// A Switchboard broker: the topic engine put on the wire.
///
/// ``services(onListening:)`` gives the services to run in one `ServiceGroup`; on graceful
/// shutdown the drain service goes first (refuse new work, close WebSockets with 1001,
/// wait up to the drain timeout), then the HTTP server stops.
public struct Broker: Sendable {
    /// The settings in force.
    public let configuration: BrokerConfiguration
    /// The topic engine.
    public let engine: InMemoryTopicEngine
    let state = BrokerState()
    /// The polls waiting now, against ``BrokerConfiguration/maxWaitingPolls``.
    let waitingPolls: WaitingPolls
    /// Checks credentials on every path that needs them.
    let access: AccessControl
    /// Bounds each credential's publish rate.
    let publishLimiter: PublishRateLimiter
    /// Which browser origins may use the broker.
    let origins: OriginPolicy
    let logger: Logger
    /// Prometheus metrics; the transports record deliveries and bytes sent here.
    let metrics: BrokerMetrics
    /// What the admin API and the stats topic show.
    let report: AdminReport

    /// Creates a broker; throws if the settings cannot be used.
    public init(configuration: BrokerConfiguration, logger: Logger = Logger(label: "switchboard")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.engine = try InMemoryTopicEngine(configuration: configuration.engine)
        self.access = try AccessControl(credentials: configuration.credentials)
        self.origins = try OriginPolicy(allowed: configuration.allowedOrigins)
        self.publishLimiter = PublishRateLimiter(rate: configuration.publishRate, burst: configuration.publishBurst)
        self.waitingPolls = WaitingPolls(limit: configuration.maxWaitingPolls)
        self.logger = logger
        self.metrics = BrokerMetrics(engine: engine, state: state)
        self.report = AdminReport(engine: engine, state: state, metrics: metrics, startedAt: WallClock.micros())
    }

    /// The services that make up the broker, in start order.
    ///
    /// - Parameter onListening: called once the server accepts connections, with the host and real port.
    public func services(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) -> [any Service] {
        let host = configuration.host
        let server = BrokerServer(
            host: host, port: configuration.port,
            channel: BrokerChannel(http: httpServices(), webSocket: webSocketEndpoint, maxFrameSize: configuration.maxClientFrameBytes),
            group: EventLoops.shared, logger: logger,
            onListening: { port in await onListening(host, port) }
        )
        return [
            server,
            IdleTopicSweeper(engine: engine, interval: .seconds(min(60, max(1, configuration.engine.idleTopicSeconds / 4)))),
            DrainService(state: state, timeout: .seconds(configuration.drainTimeoutSeconds), logger: logger),
            StatsPublisher(report: report, interval: .seconds(1), logger: logger),
        ]
    }

    /// What every HTTP/1 connection's handler shares (one set of routes per broker).
    func httpServices() -> HTTP1ConnectionHandler.Services {
        let polls = pollRoutes
        let responder = makeRouter(polls: polls).buildResponder()
        return HTTP1ConnectionHandler.Services(
            dispatch: RouterDispatch(responder: responder, polls: polls, origins: origins, logger: logger), publisher: publisher,
            headerTimeout: .milliseconds(Int64(configuration.headerTimeoutSeconds * 1000)), state: state
        )
    }

    /// Decides WebSocket upgrades and runs accepted ones.
    var webSocketEndpoint: WebSocketEndpoint {
        WebSocketEndpoint(
            engine: engine, state: state, metrics: metrics, configuration: configuration, access: access, origins: origins, connectionLimiter: connectionLimiter,
            logger: logger
        )
    }

    /// The one path of a single event's publish, for the event loop and the route.
    var publisher: EventPublisher {
        EventPublisher(engine: engine, state: state, access: access, rateLimiter: publishLimiter, maxPayloadBytes: configuration.engine.maxPayloadBytes, logger: logger)
    }

    /// `POST /v1/topics/{topic}` and `POST /v1/publish`.
    var publishRoutes: PublishRoutes<BrokerRequestContext> {
        PublishRoutes(publisher: publisher)
    }

    /// `GET /v1/poll` and the history route (one set per broker: its answer cache and timeouts are shared).
    var pollRoutes: PollRoutes {
        PollRoutes(
            engine: engine, state: state, access: access, pool: engine.compressor, waitingPolls: waitingPolls, answers: PollAnswerCache(), metrics: metrics,
            timeouts: ReaderTimeouts()
        )
    }

    /// Bounds the WebSocket and SSE connections, in total and per IP address; check before accepting one.
    var connectionLimiter: ConnectionLimiter {
        ConnectionLimiter(state: state, maxTotal: configuration.maxConnections, maxPerIP: configuration.maxConnectionsPerIP)
    }

    func makeRouter(polls: PollRoutes) -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        router.add(middleware: RejectionLogMiddleware(logger: logger))
        router.add(middleware: JSONErrorMiddleware(knownPaths: Self.isKnownPath))
        router.add(middleware: StrictQueryMiddleware())
        router.get("/healthz") { _, _ in Response.json("{\"status\":\"ok\"}") }
        router.get("/readyz") { [state] _, _ in
            state.isDraining ? Response.json("{\"status\":\"draining\"}", status: .serviceUnavailable) : Response.json("{\"status\":\"ready\"}")
        }
        publishRoutes.register(on: router)
        webSocketEndpoint.register(on: router)
        polls.register(on: router)
        SSERoutes(engine: engine, state: state, access: access, origins: origins, connectionLimiter: connectionLimiter, heartbeat: .milliseconds(Int64(configuration.sseHeartbeatSeconds * 1000)), metrics: metrics, logger: logger)
            .register(on: router)
        AdminRoutes(report: report, access: access).register(on: router)
        ClientScriptRoutes.load().register(on: router)
        return router
    }

    static func isKnownPath(_ path: String) -> Bool {
        if AdminRoutes.isKnownPath(path) { return true }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 3: return ["/v1/publish", "/v1/ws", "/v1/poll", "/v1/sse", "/v1/client.js"].contains(path)
        case 4: return parts[1] == "v1" && parts[2] == "topics"
        case 5: return parts[1] == "v1" && ((parts[2] == "topics" && parts[4] == "events") || parts[2] == "client")
        case 2: return ["/healthz", "/readyz"].contains(path)
        default: return false
        }
    }
}

/// Formats the contract's listening line, with IPv6 hosts in brackets.
public func listeningLine(host: String, port: Int) -> String {
    let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    return "switchboard listening on http://\(shown):\(port)"
}
