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
}

/// Checks credentials on every path that needs them.
///
/// With no credentials configured everything is open (the broker then binds only to
/// loopback, see ``BrokerConfiguration/validate()``).
struct AccessControl: Sendable {
    /// Whether no credentials are configured.
    let isOpen: Bool

    init(credentials: BrokerConfiguration.Credentials) throws(ConfigurationError) {
        isOpen = !credentials.isConfigured
    }

    /// Reads the caller's token (`Authorization: Bearer`, or `?token=` when `allowQueryToken`)
    /// and returns who they are; throws 401 when it is missing, invalid or expired.
    func authenticate(_ request: Request, allowQueryToken: Bool) throws(APIError) -> Principal {
        .anonymous
    }

    /// Throws 403 unless `principal` may do `permission`.
    func authorize(_ principal: Principal, _ permission: Permission) throws(APIError) {
        guard principal.allows(permission) else {
            throw APIError(.forbidden, code: "forbidden", message: "These credentials do not allow this.")
        }
    }

    /// Authenticates and authorizes in one step.
    @discardableResult
    func check(_ request: Request, _ permission: Permission, allowQueryToken: Bool = false) throws(APIError) -> Principal {
        let principal = try authenticate(request, allowQueryToken: allowQueryToken)
        try authorize(principal, permission)
        return principal
    }
}
