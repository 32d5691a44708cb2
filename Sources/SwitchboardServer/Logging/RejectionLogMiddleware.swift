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
            logger.info("request rejected", metadata: metadata(request, context, [
                "status": "\(error.status.code)", "code": "\(error.code)", "reason": "\(error.message)",
            ]))
            throw error
        } catch {
            logger.warning("request failed", metadata: metadata(request, context, ["error": "\(String(describing: type(of: error)))"]))
            throw error
        }
    }

    private func metadata(_ request: Request, _ context: Context, _ extra: Logger.Metadata) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "remote": "\(context.remoteAddress)",
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
