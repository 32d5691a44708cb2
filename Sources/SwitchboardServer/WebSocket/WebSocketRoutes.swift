import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import SwitchboardCore

/// `GET /v1/ws`: checks the upgrade request, then runs a ``WebSocketSession``.
struct WebSocketRoutes: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let metrics: BrokerMetrics
    let configuration: BrokerConfiguration
    let logger: Logger

    func register(on router: Router<BrokerRequestContext>) {
        router.ws("/v1/ws") { [state] request, _ in
            guard !state.isDraining else { throw APIError.shuttingDown }
            // A plain GET (no upgrade) reaches here on the HTTP path; tell the client what was expected.
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError(.badRequest, code: "upgrade_required", message: "GET /v1/ws expects a WebSocket upgrade.")
            }
            let upgrade = try UpgradeRequest(request)
            var headers = HTTPFields()
            if let subprotocol = upgrade.subprotocol { headers[.secWebSocketProtocol] = subprotocol }
            return .upgrade(headers)
        } onUpgrade: { inbound, outbound, context in
            guard let upgrade = try? UpgradeRequest(context.request) else { return }
            let subscriber = Subscriber(
                zstd: upgrade.zstd,
                maxQueuedBytes: configuration.subscriberQueueBytes,
                policy: configuration.slowConsumer,
                maxSubscriptions: configuration.maxSubscriptionsPerConnection
            )
            let remote = context.requestContext.remoteAddress
            logger.info("WebSocket open", metadata: ["connection": "\(subscriber.id)", "remote": "\(remote)", "zstd": "\(upgrade.zstd)"])
            let session = WebSocketSession(
                engine: engine, state: state, metrics: metrics, subscriber: subscriber, upgrade: upgrade, remote: remote,
                maxMessageBytes: configuration.maxClientFrameBytes, logger: logger
            )
            await session.run(inbound: inbound, outbound: outbound)
            logger.info("WebSocket closed", metadata: ["connection": "\(subscriber.id)"])
        }
    }
}
