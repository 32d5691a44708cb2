import HTTPTypes
import Hummingbird
import HummingbirdCore

/// The query parameters each route defines; any other is `400 invalid_request` naming it, so
/// a typo (`lst=3` for `last=3`) is an error instead of a silently different answer.
///
/// `token` is defined on every route; where it is not accepted as a credential (publish,
/// admin) it is ignored. Requests for paths or methods no route takes are left to the router
/// (404, 405).
enum QueryParameters {
    /// The parameters of `GET /v1/poll`.
    static let poll: Set<String> = ["token", "topics", "cursor", "last", "positions", "limit", "timeout"]
    /// The parameters of `GET /v1/sse` (`limit` bounds one write, as on a poll).
    static let sse: Set<String> = ["token", "topics", "cursor", "last", "positions", "limit"]
    /// The parameters of `GET /v1/ws`, with or without the upgrade.
    static let webSocket: Set<String> = ["token", "topics", "compression"]

    /// The parameters the route for `method` and `path` defines; nil when no route takes it.
    static func defined(method: HTTPRequest.Method, path: String) -> Set<String>? {
        // The path with its topic or connection id replaced by ":", as the routes are written.
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.count >= 3, parts[0] == "v1", parts[1] == "topics" { parts[2] = ":" }
        if parts.count >= 4, parts[0] == "v1", parts[1] == "admin", ["topics", "connections"].contains(parts[2]) { parts[3] = ":" }
        let read = method == .get || method == .head
        switch (parts.joined(separator: "/"), method) {
        case ("healthz", _) where read, ("readyz", _) where read, ("metrics", _) where read, ("admin", _) where read: return ["token"]
        case ("v1/poll", _) where read: return poll
        case ("v1/sse", _) where read: return sse
        case ("v1/ws", _) where read: return webSocket
        case ("v1/publish", .post), ("v1/topics/:", .post): return ["token"]
        case ("v1/topics/:/events", _) where read: return ["token", "since", "limit"]
        case ("v1/admin/topics", _) where read: return ["token", "prefix"]
        case ("v1/admin/stats", _) where read, ("v1/admin/connections", _) where read: return ["token"]
        case ("v1/admin/topics/:", _) where read || method == .delete: return ["token"]
        case ("v1/admin/topics/:/config", .put), ("v1/admin/connections/:", .delete): return ["token"]
        default: return nil
        }
    }

    /// Throws `400 invalid_request` naming the first parameter of `uri` not in `defined`.
    static func check(_ uri: URI, defined: Set<String>) throws(APIError) {
        for (name, _) in uri.queryParameters where !name.isEmpty && !defined.contains(String(name)) {
            throw APIError(.invalidRequest, message: "'\(name.prefix(40))' is not a parameter of this route; it takes \(defined.sorted().joined(separator: ", "))."
            )
        }
    }
}

/// Refuses a request to a known route with a query parameter the route does not define.
struct StrictQueryMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let defined = QueryParameters.defined(method: request.method, path: request.uri.path) {
            try QueryParameters.check(request.uri, defined: defined)
        }
        return try await next(request, context)
    }
}
