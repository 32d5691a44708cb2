import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import SwitchboardCore

/// `GET /v1/ws`: checks the upgrade request, then runs a ``WebSocketSession``.
///
/// Before the upgrade, in this order: draining (503), the token (401, `Authorization` or
/// `?token=`), the request's own parameters (400), the `subscribe` grant for each `?topics=`
/// entry (403), and the connection limits (429). Hummingbird answers any refused upgrade with
/// an empty `400`; a plain `GET` without upgrade headers runs the same checks and answers the
/// contract's JSON error, so a client can ask why (docs/PROTOCOL-NOTES.md).
struct WebSocketRoutes: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let metrics: BrokerMetrics
    let configuration: BrokerConfiguration
    /// Checks the token and the `subscribe` grant.
    let access: AccessControl
    /// Bounds open connections.
    let connectionLimiter: ConnectionLimiter
    let logger: Logger

    /// Adds the route to `router`.
    func register(on router: Router<BrokerRequestContext>) {
        router.ws("/v1/ws") { [state, access, connectionLimiter] request, context in
            guard !state.isDraining else { throw APIError.shuttingDown }
            let principal = try await access.authenticate(request, allowQueryToken: true)
            let upgrade = try UpgradeRequest(request)
            for topic in upgrade.topics { try access.authorize(principal, .subscribe(topic)) }
            try connectionLimiter.admit(remote: context.remoteAddress)
            // A plain GET (no upgrade) reaches here on the HTTP path; tell the client what was expected.
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError(.badRequest, code: "upgrade_required", message: "GET /v1/ws expects a WebSocket upgrade.")
            }
            var headers = HTTPFields()
            if let subprotocol = upgrade.subprotocol { headers[.secWebSocketProtocol] = subprotocol }
            return .upgrade(headers)
        } onUpgrade: { inbound, outbound, context in
            guard let upgrade = try? UpgradeRequest(context.request) else { return }
            // Checked moments ago in shouldUpgrade; authenticated again here for the principal
            // (and its expiry), since Hummingbird passes nothing from one closure to the other.
            guard let principal = try? await access.authenticate(context.request, allowQueryToken: true) else {
                try? await outbound.close(.policyViolation, reason: "credentials expired")
                return
            }
            let subscriber = Subscriber(
                zstd: upgrade.zstd,
                maxQueuedBytes: configuration.subscriberQueueBytes,
                policy: configuration.slowConsumer,
                maxSubscriptions: configuration.maxSubscriptionsPerConnection
            )
            let session = WebSocketSession(
                engine: engine, state: state, metrics: metrics, subscriber: subscriber, channel: context.requestContext.channel, upgrade: upgrade, remote: context.requestContext.remoteAddress,
                principal: principal, access: access, maxMessageBytes: configuration.maxClientFrameBytes, logger: logger
            )
            await session.run(inbound: inbound, outbound: outbound)
        }
    }
}
