import HTTPTypes
import NIOCore
import SwitchboardCore

/// The event-loop side of `POST /v1/topics/{topic}`: which requests ``LoopPublishHandler``
/// may take from the router, and their publish.
///
/// It takes only the plain successful case and gives every other request to the router,
/// which answers it as before: the checks are the route's own (``PublishRoutes/admit(topic:principal:remote:)``),
/// and a request that fails any of them, or that the engine refuses, goes to the route,
/// which fails it again with the contract's error and logs it. So errors have one source,
/// and this path changes nothing a client can see but the cost.
struct LoopPublisher: Sendable {
    /// A request the handler took: where it publishes and what its publish carries.
    struct Taken {
        /// The topic from the path.
        let topic: String
        /// The request's `Content-Type`, if any.
        let contentType: String?
        /// The request's `Idempotency-Key`, if any.
        let idempotencyKey: String?
    }

    /// The header fields this path reads, from one pass over a request's fields.
    private struct Fields {
        var contentLength: String?
        var contentType: String?
        var idempotencyKey: String?
        var authorization: String?

        /// Reads `fields`; nil when the request is not this path's to take: it has a
        /// `Transfer-Encoding`, an `Expect` or `Connection: close`, or repeats a field read
        /// here (the route then answers as it would any such request).
        init?(_ fields: HTTPFields) {
            for field in fields {
                switch field.name {
                case .contentLength:
                    guard contentLength == nil else { return nil }
                    contentLength = field.value
                case .contentType:
                    guard contentType == nil else { return nil }
                    contentType = field.value
                case .idempotencyKey:
                    guard idempotencyKey == nil else { return nil }
                    idempotencyKey = field.value
                case .authorization:
                    guard authorization == nil else { return nil }
                    authorization = field.value
                case .transferEncoding, .expect:
                    return nil
                case .connection:
                    if RouterDispatchHandler.saysClose(field.value) { return nil }
                default:
                    continue
                }
            }
        }
    }

    /// The route whose checks and limits apply.
    let routes: PublishRoutes<BrokerRequestContext>
    /// Publishes without suspending.
    let engine: any SynchronousPublishing

    /// The path's prefix before the topic.
    private static let prefix = "/v1/topics/"

    /// Takes `head` when it is a publish this path can finish on the loop: `POST
    /// /v1/topics/{topic}` with a `Content-Length` within the payload limit, no `Expect`,
    /// `Transfer-Encoding` or `Connection: close`, a valid idempotency key if any, a caller
    /// known without suspending (open broker or static token, not a JWT), and every check of
    /// the route passed (which takes one event from the caller's rate bucket). Nil: the
    /// router answers it.
    func take(_ head: HTTPRequest, remote: SocketAddress?) -> Taken? {
        guard head.method == .post, let path = head.path, path.hasPrefix(Self.prefix) else { return nil }
        var topic = path.dropFirst(Self.prefix.count)
        if let query = topic.firstIndex(of: "?") { topic = topic[..<query] }  // the route ignores the query too
        guard let fields = Fields(head.headerFields),
            let length = fields.contentLength.flatMap({ Int($0) }), length <= routes.maxPayloadBytes,
            fields.idempotencyKey.map({ TopicName.isValidIdempotencyKey($0) }) ?? true,
            !routes.state.isDraining,
            let principal = routes.access.principalWithoutSuspending(authorization: fields.authorization)
        else { return nil }
        let name = String(topic)
        do throws(APIError) {
            try routes.admit(topic: name, principal: principal, remote: BrokerRequestContext.describe(remote))
        } catch {
            return nil
        }
        return Taken(topic: name, contentType: fields.contentType, idempotencyKey: fields.idempotencyKey)
    }

    /// Publishes a taken request's body; nil when the engine refused it (the router then
    /// answers the request).
    func publish(_ taken: Taken, body: ByteBuffer) -> PublishReceipt? {
        let request = PublishRequest(
            topic: taken.topic, payload: body, contentType: taken.contentType ?? PublishRoutes<BrokerRequestContext>.defaultContentType,
            idempotencyKey: taken.idempotencyKey
        )
        do throws(EngineError) {
            return try engine.publishNow(request)
        } catch {
            return nil
        }
    }
}
