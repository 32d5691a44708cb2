import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
public import SwitchboardCore

/// An error answered with the contract's JSON body: `{"error":{"code","message",…}}`.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    /// Which of the contract's errors this is; its status is the answer's.
    public let error: ContractError
    /// A human sentence.
    public let message: String
    /// For batch errors: the index of the first bad entry.
    public let index: Int?
    /// Seconds to wait before trying again, sent as `Retry-After` (429 and 503).
    public var retryAfter: Int?

    /// Creates an error.
    public init(_ error: ContractError, message: String, index: Int? = nil) {
        self.error = error
        self.message = message
        self.index = index
    }

    /// The engine's refusal, answered with its contract error's status.
    public init(_ error: EngineError, index: Int? = nil) {
        self.init(error.error, message: error.message, index: index)
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: error.status) }
    /// The contract's snake_case code.
    public var code: String { error.code }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The JSON body.
    public var json: String {
        var inner = JSONWriter()
        inner.field("code", string: code)
        inner.field("message", string: message)
        if let index { inner.field("index", raw: String(index)) }
        var outer = JSONWriter()
        outer.field("error", raw: inner.finish())
        return outer.finish()
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        httpResponse
    }

    /// The response the router sends.
    var httpResponse: Response {
        let (head, body) = answer
        return Response(status: head.status, headers: head.headerFields, body: .init(byteBuffer: body))
    }

    /// ``httpResponse`` for an answer written outside the router, which dates its own
    /// answers: with `Date`, and `Connection: close` when the connection ends after it (a
    /// parked poll's failure, a refused upgrade, bytes that are not HTTP/1.1).
    func unroutedAnswer(closing: Bool) -> (head: HTTPResponse, body: ByteBuffer) {
        var (head, body) = answer
        head.headerFields[.date] = HTTPDate.now
        if closing { head.headerFields[.connection] = "close" }
        return (head, body)
    }

    /// The head (JSON, its length, and `Retry-After` or `WWW-Authenticate` where they apply) and the body.
    private var answer: (head: HTTPResponse, body: ByteBuffer) {
        let body = ByteBuffer(string: json)
        var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(body.readableBytes)]
        if let retryAfter {
            fields[.retryAfter] = String(retryAfter)
        } else if status == .serviceUnavailable {
            fields[.retryAfter] = "1"
        }
        if status == .unauthorized { fields[.wwwAuthenticate] = "Bearer" }
        return (HTTPResponse(status: status, headerFields: fields), body)
    }

    /// `invalid_topic` for a topic name taken from a request path, shown percent-decoded
    /// (`'has space'`, not `'has%20space'`) as the client meant it.
    static func invalidTopic(inPath raw: String) -> APIError {
        APIError(.invalidTopic(raw.removingPercentEncoding ?? raw))
    }

    static let shuttingDown = APIError(.shuttingDown, message: "The broker is shutting down.")

    /// A streaming request from a page of an origin that may not use the broker.
    static func originNotAllowed(_ origin: String) -> APIError {
        APIError(.originNotAllowed, message: "Pages from '\(origin.prefix(100))' may not use this broker; see --allowed-origins.")
    }

    /// A body over `limit` bytes.
    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.payloadTooLarge, message: "The body is over the limit of \(limit) bytes.")
    }
}

extension Response {
    /// A response with a JSON body.
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// Turns every error that is not already the contract's JSON into it, so no route answers
/// an empty or HTML error.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Paths that exist, to tell 405 (wrong method) from 404 (unknown route).
    let knownPaths: @Sendable (String) -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound where Self.hasEmptyTopic(request.method, request.uri.path):
                // The route exists but its topic is empty: the topic is what is wrong, not the method.
                throw APIError(.invalidTopic(""))
            case .notFound where knownPaths(request.uri.path):
                throw APIError(.methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path).")
            case .notFound:
                throw APIError(.notFound, message: "No route matches \(request.method) \(request.uri.path).")
            case .contentTooLarge:
                throw APIError(.payloadTooLarge, message: error.body ?? "The request body is too large.")
            default:
                // Anything else Hummingbird refuses before a route runs is a bad request (or our fault).
                throw APIError(error.status.code >= 500 ? .internalError : .invalidRequest, message: error.body ?? error.status.reasonPhrase)
            }
        }
    }

    /// Whether the request is for a route that takes a topic, with the topic left empty
    /// (`POST /v1/topics/`, `GET /v1/topics//events`, `GET /v1/admin/topics/`, …).
    static func hasEmptyTopic(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        switch (method, path) {
        case (.post, "/v1/topics/"), (.get, "/v1/topics//events"), (.head, "/v1/topics//events"),
            (.get, "/v1/admin/topics/"), (.delete, "/v1/admin/topics/"), (.put, "/v1/admin/topics//config"):
            true
        default:
            false
        }
    }
}
