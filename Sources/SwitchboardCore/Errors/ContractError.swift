/// Every error the wire contract names, spelled once in the whole project: its snake_case
/// code, the HTTP status it answers with, and — where it ends a WebSocket — the close code.
///
/// HTTP answers (`APIError`), the engine's refusals (``EngineError``) and WebSocket `error`
/// messages are all made from these members, so a code cannot be misspelled in one place or
/// answered with two statuses. Modelled on Hummingbird's `HTTPError` and swift-websocket's
/// `WebSocketClientError`: a value with static members.
public struct ContractError: Sendable, Hashable, CustomStringConvertible {
    /// The contract's snake_case code, e.g. `invalid_topic`.
    public let code: String
    /// The HTTP status the error answers with.
    public let status: Int
    /// The WebSocket close code, for an error that closes the connection rather than answering an `error` message.
    public let closeCode: UInt16?

    private init(_ code: String, _ status: Int, close closeCode: UInt16? = nil) {
        self.code = code
        self.status = status
        self.closeCode = closeCode
    }

    public var description: String { code }

    // MARK: 400

    /// A request that breaks the contract's rules (a bad parameter, field, value or framing).
    public static let invalidRequest = ContractError("invalid_request", 400)
    /// A body or message that is not the JSON it should be.
    public static let invalidJSON = ContractError("invalid_json", 400)
    /// A topic name outside the contract's shape.
    public static let invalidTopic = ContractError("invalid_topic", 400)
    /// A poll or SSE cursor that is garbled or for other topics.
    public static let invalidCursor = ContractError("invalid_cursor", 400)
    /// A batch entry that is malformed, or an empty batch.
    public static let invalidBatch = ContractError("invalid_batch", 400)
    /// A topic configuration that cannot be applied.
    public static let invalidConfig = ContractError("invalid_config", 400)
    /// An `Idempotency-Key` that is not 1 to 128 URL-safe characters.
    public static let invalidIdempotencyKey = ContractError("invalid_idempotency_key", 400)
    /// A WebSocket message with an op the broker does not know.
    public static let unknownOp = ContractError("unknown_op", 400)
    /// A binary WebSocket message (clients send JSON text).
    public static let binaryNotAccepted = ContractError("binary_not_accepted", 400)
    /// A plain `GET /v1/ws` that would have been accepted as an upgrade.
    public static let upgradeRequired = ContractError("upgrade_required", 400)
    /// WebSocket subprotocols offered, none of them the broker's.
    public static let unsupportedProtocol = ContractError("unsupported_protocol", 400)

    // MARK: 401, 403, 404, 405

    /// No credentials, or credentials that are invalid or expired (a WebSocket whose token expires closes with 1008).
    public static let unauthorized = ContractError("unauthorized", 401, close: 1008)
    /// Credentials that do not allow this.
    public static let forbidden = ContractError("forbidden", 403)
    /// A browser page of an origin that may not use the broker.
    public static let originNotAllowed = ContractError("origin_not_allowed", 403)
    /// No route for this path.
    public static let notFound = ContractError("not_found", 404)
    /// A topic the admin API was asked about does not exist.
    public static let topicNotFound = ContractError("topic_not_found", 404)
    /// A connection the admin API was asked about is not open.
    public static let connectionNotFound = ContractError("connection_not_found", 404)
    /// A route that exists, with another method.
    public static let methodNotAllowed = ContractError("method_not_allowed", 405)

    // MARK: 409 to 431

    /// A `subscribe` to a topic the connection already follows.
    public static let alreadySubscribed = ContractError("already_subscribed", 409)
    /// An `unsubscribe` from a topic the connection does not follow.
    public static let notSubscribed = ContractError("not_subscribed", 409)
    /// A payload, body or client message over its limit (a WebSocket message: close 1009).
    public static let payloadTooLarge = ContractError("payload_too_large", 413, close: 1009)
    /// A body of a type the route does not take.
    public static let unsupportedMediaType = ContractError("unsupported_media_type", 415)
    /// An `Idempotency-Key` repeated with a different payload or type.
    public static let idempotencyKeyReused = ContractError("idempotency_key_reused", 422)
    /// A limit on counts reached: topics, connections, subscriptions, waiting polls.
    public static let limitReached = ContractError("limit_reached", 429)
    /// A credential publishing faster than its rate.
    public static let rateLimited = ContractError("rate_limited", 429)
    /// A request head over 64 KiB.
    public static let headerTooLarge = ContractError("header_too_large", 431)

    // MARK: 5xx and closes

    /// A fault of the broker's own.
    public static let internalError = ContractError("internal_error", 500)
    /// The broker is draining (a WebSocket is closed with 1001).
    public static let shuttingDown = ContractError("shutting_down", 503, close: 1001)
    /// The engine's store (Redis) cannot be reached.
    public static let engineUnavailable = ContractError("engine_unavailable", 503)
    /// A WebSocket client that reads too slowly, with `--slow-consumer disconnect`.
    public static let tooSlow = ContractError("too_slow", 503, close: 4008)
}
