import HTTPTypes
import Hummingbird
import Logging

/// Logs one line for every request answered with an error: method, path (never the query,
/// which may hold `?token=`), remote address, status, code and the reason given to the client.
struct RejectionLogMiddleware<Context: RemoteAddressContext>: RouterMiddleware {
    /// Where the lines go.
    let logger: Logger

    /// Passes the request on and logs the error it ends in, if any.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            Self.logRejection(error, of: request, remote: context.remoteAddress, logger: logger)
            throw error
        } catch {
            logger.warning("request failed", metadata: Self.metadata(request, remote: context.remoteAddress, ["error": "\(String(describing: type(of: error)))"]))
            throw error
        }
    }

    /// The line for `request` answered with `error`; also logged by the paths that answer
    /// outside the router (a refused WebSocket upgrade).
    static func logRejection(_ error: APIError, of request: Request, remote: String, logger: Logger) {
        logRejection(error, method: request.method, path: request.uri.path, remote: remote, logger: logger)
    }

    /// ``logRejection(_:of:remote:logger:)`` by the request's method and path (`path` may
    /// still hold a query, which is cut off here).
    static func logRejection(_ error: APIError, method: HTTPRequest.Method, path: String, remote: String, logger: Logger) {
        let path = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        logger.info("request rejected", metadata: metadata(method: method, path: path, remote: remote, [
            "status": "\(error.status.code)", "code": "\(error.code)", "reason": "\(error.message)",
        ]))
    }

    private static func metadata(_ request: Request, remote: String, _ extra: Logger.Metadata) -> Logger.Metadata {
        metadata(method: request.method, path: request.uri.path, remote: remote, extra)
    }

    private static func metadata(method: HTTPRequest.Method, path: String, remote: String, _ extra: Logger.Metadata) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": "\(method)", "path": "\(path)", "remote": "\(remote)",
        ]
        metadata.merge(extra) { $1 }
        return metadata
    }
}

/// A request context that knows the peer's address.
protocol RemoteAddressContext: RequestContext {
    /// The remote address as text, e.g. `127.0.0.1:53422`.
    var remoteAddress: String { get }
}

extension BrokerRequestContext: RemoteAddressContext {}
