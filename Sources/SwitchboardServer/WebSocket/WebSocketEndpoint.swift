import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// `GET /v1/ws`: decides WebSocket upgrades and builds the handler of each accepted one.
///
/// Before the upgrade, in this order: draining (503), the token (401, `Authorization` or
/// `?token=`), the request's own parameters (400), the `subscribe` grant for each `?topics=`
/// entry (403), and the connection limits (429). A refused upgrade is answered with that
/// status and the contract's JSON error (by ``BrokerChannel``), so the client learns why; a
/// plain `GET /v1/ws` runs the same checks on the HTTP route.
struct WebSocketEndpoint: Sendable {
    /// The path upgrades are accepted on.
    static let path = "/v1/ws"

    let engine: any TopicEngine
    let state: BrokerState
    let metrics: BrokerMetrics
    let configuration: BrokerConfiguration
    /// Checks the token and the `subscribe` grant.
    let access: AccessControl
    /// Refuses pages of origins that may not use the broker.
    let origins: OriginPolicy
    /// Bounds open connections.
    let connectionLimiter: ConnectionLimiter
    let logger: Logger

    /// An upgrade that passed every check.
    struct Accepted: Sendable {
        /// What the request asked for.
        var upgrade: UpgradeRequest
        /// Who connected.
        var principal: Principal
        /// The peer's address.
        var remote: String
    }

    /// Runs the checks on an upgrade request; throws the refusal.
    func check(_ request: Request, remote: String) async throws(APIError) -> Accepted {
        try checkBeforeToken(request)
        let principal = try await access.authenticate(request, allowQueryToken: true)
        return try checkAfterToken(request, principal: principal, remote: remote)
    }

    /// ``check(_:remote:)`` where it answers without suspending; nil when the token is a JWT to verify.
    func checkWithoutSuspending(_ request: Request, remote: String) -> Result<Accepted, APIError>? {
        do throws(APIError) {
            try checkBeforeToken(request)
            guard let known = access.authenticateWithoutSuspending(request, allowQueryToken: true) else { return nil }
            return .success(try checkAfterToken(request, principal: known.get(), remote: remote))
        } catch {
            return .failure(error)
        }
    }

    private func checkBeforeToken(_ request: Request) throws(APIError) {
        guard !state.isDraining else { throw APIError.shuttingDown }
        try origins.admitStream(request)
    }

    private func checkAfterToken(_ request: Request, principal: Principal, remote: String) throws(APIError) -> Accepted {
        let upgrade = try UpgradeRequest(request)
        for topic in upgrade.topics { try access.authorize(principal, .subscribe(topic)) }
        try connectionLimiter.admit(remote: remote)
        return Accepted(upgrade: upgrade, principal: principal, remote: remote)
    }

    /// The upgrade decision for a request head: the accepted upgrade and the response headers
    /// to add, or the refusal (logged here, as the router logs the refusals it answers).
    func decide(_ head: HTTPRequest, remote: String) async -> Result<(Accepted, HTTPFields), APIError> {
        if let decided = decideWithoutSuspending(head, remote: remote) { return decided }
        let request = Request(head: head, body: .init(buffer: ByteBuffer()))
        do throws(APIError) {
            return answer(.success(try await check(request, remote: remote)), to: request, remote: remote)
        } catch {
            return answer(.failure(error), to: request, remote: remote)
        }
    }

    /// ``decide(_:remote:)`` where it answers without suspending (every upgrade but one whose
    /// token is a JWT to verify), so that the upgrade needs no task.
    func decideWithoutSuspending(_ head: HTTPRequest, remote: String) -> Result<(Accepted, HTTPFields), APIError>? {
        let request = Request(head: head, body: .init(buffer: ByteBuffer()))
        guard request.uri.path == Self.path else {
            let error = APIError(.notFound, message: "WebSocket upgrades are accepted on \(Self.path) only.")
            return answer(.failure(error), to: request, remote: remote)
        }
        return checkWithoutSuspending(request, remote: remote).map { answer($0, to: request, remote: remote) }
    }

    private func answer(_ checked: Result<Accepted, APIError>, to request: Request, remote: String) -> Result<(Accepted, HTTPFields), APIError> {
        switch checked {
        case .success(let accepted):
            var headers = HTTPFields()
            if let subprotocol = accepted.upgrade.subprotocol { headers[.secWebSocketProtocol] = subprotocol }
            if let deflate = accepted.upgrade.deflate { headers[.secWebSocketExtensions] = deflate.response }
            return .success((accepted, headers))
        case .failure(let error):
            RejectionLogMiddleware<BrokerRequestContext>.logRejection(error, of: request, remote: remote, logger: logger)
            return .failure(error)
        }
    }

    /// The handler that runs an accepted connection on its channel.
    func makeHandler(_ accepted: Accepted) -> WebSocketConnectionHandler {
        let subscriber = Subscriber(
            zstd: accepted.upgrade.zstd,
            deflate: accepted.upgrade.deflate != nil,
            maxQueuedBytes: configuration.subscriberQueueBytes,
            policy: configuration.slowConsumer,
            maxSubscriptions: configuration.maxSubscriptionsPerConnection
        )
        let session = WebSocketSession(
            engine: engine, state: state, subscriber: subscriber, upgrade: accepted.upgrade, remote: accepted.remote,
            principal: accepted.principal, access: access, logger: logger
        )
        return WebSocketConnectionHandler(
            session: session, metrics: metrics, maxMessageBytes: configuration.maxClientFrameBytes,
            pingInterval: .seconds(Int64(configuration.pingIntervalSeconds))
        )
    }

    /// Adds the HTTP route: what a `GET /v1/ws` that was not upgraded gets.
    func register(on router: Router<BrokerRequestContext>) {
        router.get(RouterPath(Self.path)) { request, context -> Response in
            // Without upgrade headers: the same checks, then say what was expected.
            _ = try await check(request, remote: context.remoteAddress)
            throw APIError(.upgradeRequired, message: "GET /v1/ws expects a WebSocket upgrade on a new connection.")
        }
    }
}
