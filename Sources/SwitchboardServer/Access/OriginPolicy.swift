import HTTPTypes
import Hummingbird

/// Which browser origins may use the broker from their own pages (`--allowed-origins`), and
/// what the answers say to browsers (contract v1.1, "Browsers from other origins").
///
/// - An allowed `Origin` gets `Access-Control-Allow-Origin: <origin>` and `Vary: Origin` on
///   every HTTP answer, and `OPTIONS` (a preflight) on any path answers 204 with the methods,
///   headers and max age a browser asks for.
/// - A WebSocket upgrade or SSE request whose `Origin` is neither the broker's own (same host
///   and port as `Host`, default ports filled in) nor allowed is `403 origin_not_allowed`: a
///   page on another site cannot read a user's streams with the user's cookies or network.
/// - Requests without `Origin` (programs, not browsers) are never refused for it; other
///   requests from an origin that is not allowed are answered as usual, without CORS fields.
struct OriginPolicy: Sendable {
    /// `*`: every origin.
    let allowsAny: Bool
    /// The allowed origins, normalized (`scheme://host:port`, lowercase, default port filled in).
    let origins: Set<String>

    /// The methods a preflight allows.
    static let methods = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
    /// The request header fields a preflight allows.
    static let headers = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID, Accept-Encoding"
    /// How long a browser may keep a preflight's answer.
    static let maxAgeSeconds = 600

    /// A policy from the setting's entries: `*`, or origins such as `https://dash.example.com`.
    init(allowed entries: [String]) throws(ConfigurationError) {
        var origins = Set<String>()
        var any = false
        for entry in entries.map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry == "*" {
                any = true
                continue
            }
            guard let normalized = Self.normalize(entry) else {
                throw ConfigurationError("allowed_origins: '\(entry.prefix(100))' is not an origin such as https://dash.example.com (scheme, host and optional port; no path), nor *")
            }
            origins.insert(normalized)
        }
        allowsAny = any
        self.origins = origins
    }

    /// Whether a page from `origin` may read answers.
    func allows(_ origin: String) -> Bool {
        if allowsAny { return true }
        guard let normalized = Self.normalize(origin) else { return false }
        return origins.contains(normalized)
    }

    /// The CORS fields for an answer to a request from `origin`, or nil when there are none to add.
    func fields(origin: String?) -> HTTPFields? {
        guard let origin, allows(origin) else { return nil }
        return [.accessControlAllowOrigin: origin, .vary: "Origin"]
    }

    /// The answer to `OPTIONS`: 204, with the preflight's fields for an allowed origin.
    func preflight(origin: String?) -> Response {
        var fields: HTTPFields = [.allow: Self.methods]
        if let cors = self.fields(origin: origin) {
            fields.append(contentsOf: cors)
            fields[.accessControlAllowMethods] = Self.methods
            fields[.accessControlAllowHeaders] = Self.headers
            fields[.accessControlMaxAge] = String(Self.maxAgeSeconds)
        }
        return Response(status: .noContent, headers: fields)
    }

    /// Refuses a streaming request (WebSocket upgrade, SSE) from a page of another origin that is not allowed.
    func admitStream(_ request: Request) throws(APIError) {
        guard let origin = request.headers[.origin], Self.isBrowserOrigin(origin) else { return }
        if allows(origin) || Self.isSameOrigin(origin, host: request.head.authority) { return }
        throw APIError.originNotAllowed(origin)
    }

    /// Whether a browser could have sent `origin`: an `http` or `https` origin, or `null` (a
    /// sandboxed or local page). Some WebSocket libraries outside browsers send another
    /// (swift-websocket sends `ws://host`); they are programs, not pages, and not refused for it.
    static func isBrowserOrigin(_ origin: String) -> Bool {
        let lower = origin.lowercased()
        return lower == "null" || lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Whether `origin` names the same host and port as the request's `Host` (this broker serves plain HTTP).
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let normalized = normalize(origin), let own = normalize("http://" + host) else { return false }
        return normalized == own
    }

    /// `scheme://host:port` in lowercase with the scheme's default port filled in, or nil when
    /// `text` is not an origin (`null`, a path, another scheme, a bad port).
    static func normalize(_ text: String) -> String? {
        let lower = text.lowercased()
        let scheme: String
        let defaultPort: Int
        if lower.hasPrefix("http://") {
            (scheme, defaultPort) = ("http", 80)
        } else if lower.hasPrefix("https://") {
            (scheme, defaultPort) = ("https", 443)
        } else {
            return nil
        }
        let rest = lower.dropFirst(scheme.count + 3)
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains("#") else { return nil }
        var host = Substring(rest)
        var port = defaultPort
        // An IPv6 host is in brackets; a port follows the last colon outside them.
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
            host = rest[..<colon]
        }
        guard !host.isEmpty else { return nil }
        return "\(scheme)://\(host):\(port)"
    }
}
