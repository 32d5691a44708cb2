import Hummingbird
import SwitchboardCore

/// What a request asks to do, checked against the caller's credentials.
enum Permission: Sendable, Equatable {
    /// Publish to a topic.
    case publish(String)
    /// Subscribe to (or read the history of) a topic, over any transport.
    case subscribe(String)
    /// Use the admin API or page.
    case admin
    /// Read `/metrics`.
    case metrics
}

/// Who is calling, once their credentials were checked.
struct Principal: Sendable {
    /// The caller's identity for logs and rate limits (never the token itself).
    var name: String
    /// When the credentials stop being valid (µs since the Unix epoch), if they expire.
    var expiresAt: Int64?
    /// Whether `permission` is granted.
    var allows: @Sendable (Permission) -> Bool

    /// Anyone, when no credentials are configured: everything is allowed.
    static let anonymous = Principal(name: "anonymous", expiresAt: nil, allows: { _ in true })

    /// A caller whose credentials grant `grant`.
    init(name: String, expiresAt: Int64?, grant: Grant) {
        self.init(name: name, expiresAt: expiresAt, allows: { grant.allows($0) })
    }

    /// A caller with an arbitrary rule.
    init(name: String, expiresAt: Int64?, allows: @escaping @Sendable (Permission) -> Bool) {
        self.name = name
        self.expiresAt = expiresAt
        self.allows = allows
    }

    /// Time left until the credentials expire (zero once they have), or nil if they do not.
    /// Long-lived transports end themselves after it (WebSocket: close 1008).
    var timeToExpiry: Duration? {
        expiresAt.map { .microseconds(max(0, $0 - WallClock.micros())) }
    }

    /// Whether this is the caller of an open broker (no credentials configured).
    var isAnonymous: Bool { name == Self.anonymous.name }
}

/// Checks credentials on every path that needs them.
///
/// With no credentials configured everything is open (the broker then binds only to
/// loopback, see ``BrokerConfiguration/validate()``). Configured, a token is a static
/// `--admin-token` / `--publish-token`, or a JWT verified by jwt-kit; verifying a JWT is
/// asynchronous, so ``authenticate(_:allowQueryToken:)`` and ``check(_:_:allowQueryToken:)``
/// are `async`.
struct AccessControl: Sendable {
    /// Whether no credentials are configured.
    let isOpen: Bool
    /// Whether `/metrics` is served without credentials.
    let metricsPublic: Bool
    private let staticTokens: [(token: [UInt8], principal: Principal)]
    private let verifier: JWTVerifier

    /// Reads the configured credentials; throws if a key file cannot be used.
    init(credentials: BrokerConfiguration.Credentials) throws(ConfigurationError) {
        isOpen = !credentials.isConfigured
        metricsPublic = credentials.metricsPublic
        var tokens: [(token: [UInt8], principal: Principal)] = []
        if let admin = credentials.adminToken {
            tokens.append((Array(admin.utf8), Principal(name: "admin-token", expiresAt: nil, grant: .everything)))
        }
        for (index, token) in credentials.publishTokens.enumerated() {
            tokens.append((Array(token.utf8), Principal(name: "publish-token-\(index + 1)", expiresAt: nil, grant: .publishAnything)))
        }
        guard tokens.allSatisfy({ !$0.token.isEmpty }) else { throw ConfigurationError("admin_token and publish_token must not be empty") }
        staticTokens = tokens
        verifier = try JWTVerifier(secret: credentials.jwtSecret, publicKeyFile: credentials.jwtPublicKeyFile)
    }

    /// Reads the caller's token (`Authorization: Bearer`, or `?token=` when `allowQueryToken`)
    /// and returns who they are; throws 401 when it is missing, invalid or expired.
    func authenticate(_ request: Request, allowQueryToken: Bool) async throws(APIError) -> Principal {
        if let known = authenticateWithoutSuspending(request, allowQueryToken: allowQueryToken) { return try known.get() }
        return try await authenticate(token: Self.token(in: request, allowQueryToken: allowQueryToken))
    }

    /// ``authenticate(_:allowQueryToken:)`` where it answers without suspending: on an open
    /// broker, for a missing or malformed token, for a static token, and for any other token
    /// when no JWT key is configured. Nil when the token is to be verified as a JWT.
    func authenticateWithoutSuspending(_ request: Request, allowQueryToken: Bool) -> Result<Principal, APIError>? {
        guard !isOpen else { return .success(.anonymous) }
        let token: String
        do throws(APIError) {
            token = try Self.token(in: request, allowQueryToken: allowQueryToken)
        } catch {
            return .failure(error)
        }
        if let found = staticPrincipal(token) { return .success(found) }
        guard verifier.isConfigured else { return .failure(.unauthorized("The token is not valid.")) }
        return nil
    }

    /// Checks one token (without its `Bearer `): a static token, else a JWT.
    func authenticate(token: String) async throws(APIError) -> Principal {
        guard !isOpen else { return .anonymous }
        if let found = staticPrincipal(token) { return found }
        guard verifier.isConfigured else { throw .unauthorized("The token is not valid.") }
        do throws(JWTVerifier.Failure) {
            let claims = try await verifier.verify(token)
            let name = claims.sub.map { "jwt:\($0.value)" } ?? "jwt#" + String(UInt(bitPattern: token.hashValue), radix: 16)
            return Principal(name: name, expiresAt: claims.expiresAtMicros, grant: claims.switchboard ?? Grant())
        } catch .expired {
            throw .unauthorized("The token has expired.")
        } catch {
            throw .unauthorized("The token is not valid.")
        }
    }

    /// The caller of a request with this `Authorization` value, when that is known without
    /// suspending: anyone on an open broker, or the holder of a static token. Nil for
    /// everything else (a JWT, or a missing, malformed or unknown token), which
    /// ``authenticate(_:allowQueryToken:)`` then decides.
    func principalWithoutSuspending(authorization: String?) -> Principal? {
        guard !isOpen else { return .anonymous }
        guard let authorization, let token = Self.bearerToken(authorization) else { return nil }
        return staticPrincipal(token)
    }

    /// The static token's principal, if `token` is one.
    private func staticPrincipal(_ token: String) -> Principal? {
        let bytes = Array(token.utf8)
        // Compare every static token in full so the time taken does not tell how much matched.
        var found: Principal?
        for entry in staticTokens where Self.constantTimeEqual(entry.token, bytes) { found = entry.principal }
        return found
    }

    /// The token of an `Authorization: Bearer <token>` value, or nil for another scheme.
    private static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// Topics under this prefix belong to the broker (its stats snapshots carry remote addresses).
    static let reservedPrefix = "_switchboard."

    /// Throws 403 unless `principal` may do `permission`. Topics under ``reservedPrefix`` are
    /// published by the broker only, and reading them needs the admin grant.
    func authorize(_ principal: Principal, _ permission: Permission) throws(APIError) {
        switch permission {
        case .publish(let topic) where topic.hasPrefix(Self.reservedPrefix):
            throw APIError(.forbidden, message: "Topics under \(Self.reservedPrefix) are published by the broker only.")
        case .subscribe(let topic) where topic.hasPrefix(Self.reservedPrefix):
            guard principal.allows(.admin) else {
                throw APIError(.forbidden, message: "Topics under \(Self.reservedPrefix) need the admin grant.")
            }
            return
        default:
            break
        }
        guard principal.allows(permission) else {
            throw APIError(.forbidden, message: Self.refusal(permission))
        }
    }

    /// Authenticates and authorizes in one step. `/metrics` needs no token when it is public.
    @discardableResult
    func check(_ request: Request, _ permission: Permission, allowQueryToken: Bool = false) async throws(APIError) -> Principal {
        if permission == .metrics, metricsPublic { return .anonymous }
        let principal = try await authenticate(request, allowQueryToken: allowQueryToken)
        try authorize(principal, permission)
        return principal
    }

    /// The token of a request: `Authorization: Bearer` first, then `?token=` where allowed.
    static func token(in request: Request, allowQueryToken: Bool) throws(APIError) -> String {
        if let header = request.headers[.authorization] {
            guard let token = bearerToken(header) else { throw .unauthorized("Send the token as Authorization: Bearer <token>.") }
            return token
        }
        if allowQueryToken, let token = request.uri.queryParameters.get("token"), !token.isEmpty {
            return token
        }
        throw .unauthorized(allowQueryToken ? "A token is required (Authorization: Bearer, or ?token=)." : "A token is required (Authorization: Bearer).")
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func refusal(_ permission: Permission) -> String {
        switch permission {
        case .publish(let topic): "These credentials may not publish to \(topic)."
        case .subscribe(let topic): "These credentials may not subscribe to \(topic)."
        case .admin: "These credentials may not use the admin API."
        case .metrics: "These credentials may not read the metrics."
        }
    }
}

extension APIError {
    /// 401 `unauthorized`, with `WWW-Authenticate` set by ``APIError/response(from:context:)``.
    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, message: message)
    }
}
