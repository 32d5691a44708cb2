import HTTPTypes
import Logging
import NIOCore
import SwitchboardCore

/// The one path of `POST /v1/topics/{topic}`, whoever runs it: the connection handler on its
/// event loop (``answerWithoutSuspending(_:body:remote:)``) or the route in a task
/// (``admit(topic:principal:remote:)``, then ``publish(topic:fields:body:)``). Both check in
/// the same order — draining (503), topic (400), grant (403), the caller's publish rate (429,
/// one event taken from its bucket, once), payload size (413) — then publish and answer from
/// the same code.
struct EventPublisher: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let access: AccessControl
    let rateLimiter: PublishRateLimiter
    let maxPayloadBytes: Int
    let logger: Logger

    /// The path's prefix before the topic.
    static let pathPrefix = "/v1/topics/"

    /// The checks of a publish whose caller is known, before its body counts: draining (503),
    /// topic (400), grant (403), then the caller's publish rate (429), which takes one event
    /// from the caller's bucket when it passes.
    func admit(topic: String, principal: Principal, remote: @autoclosure () -> String) throws(APIError) {
        guard !state.isDraining else { throw APIError.shuttingDown }
        guard TopicName.isValid(topic) else { throw APIError.invalidTopic(inPath: topic) }
        try access.authorize(principal, .publish(topic))
        if rateLimiter.isEnabled { try rateLimiter.take(1, for: Self.rateKey(principal, remote: remote())) }
    }

    /// The engine's request for an admitted publish's body, typed by the request's
    /// `Content-Type` and keyed by its `Idempotency-Key`; 413 over the payload limit.
    func request(topic: String, contentType: String?, idempotencyKey: String?, body: ByteBuffer) throws(APIError) -> PublishRequest {
        guard body.readableBytes <= maxPayloadBytes else { throw APIError.payloadTooLarge(limit: maxPayloadBytes) }
        return PublishRequest(topic: topic, payload: body, contentType: contentType ?? Self.defaultContentType, idempotencyKey: idempotencyKey)
    }

    /// Publishes an admitted request's body through the engine's `async` seam (the route's path).
    func publish(topic: String, fields: HTTPFields, body: ByteBuffer) async throws(APIError) -> PublishReceipt {
        let request = try request(topic: topic, contentType: fields[.contentType], idempotencyKey: fields[.idempotencyKey], body: body)
        do throws(EngineError) {
            return try await engine.publish(request)
        } catch {
            throw APIError(error)
        }
    }

    /// The whole answer to a publish whose body was read, as the bytes of an HTTP/1.1
    /// response, when it can be had without suspending: the engine publishes immediately and
    /// the caller is known at once (an open broker or a static token, not a JWT). Nil, before
    /// any check or charge, when it cannot; the route then runs the same checks in a task.
    func answerWithoutSuspending(_ head: HTTPRequest, body: ByteBuffer, remote: SocketAddress?) -> ByteBuffer? {
        guard head.method == .post, let path = head.path, path.hasPrefix(Self.pathPrefix),
            !path.utf8.contains(UInt8(ascii: "?")),  // a query is the route's to judge
            let immediate = engine.immediate,
            let fields = LoopFields(head.headerFields),
            let principal = access.principalWithoutSuspending(authorization: fields.authorization)
        else { return nil }
        let topic = String(path.dropFirst(Self.pathPrefix.count))
        let describe = { BrokerRequestContext.describe(remote) }
        do throws(APIError) {
            try admit(topic: topic, principal: principal, remote: describe())
            let request = try request(topic: topic, contentType: fields.contentType, idempotencyKey: fields.idempotencyKey, body: body)
            let receipt: PublishReceipt
            do throws(EngineError) {
                receipt = try immediate.publishNow(request)
            } catch {
                throw APIError(error)
            }
            return Self.encodedReceipt(receipt)
        } catch {
            RejectionLogMiddleware<BrokerRequestContext>.logRejection(error, method: head.method, path: path, remote: describe(), logger: logger)
            return HTTPWire.encode(error.unroutedAnswer(closing: false))
        }
    }

    /// The fields the event-loop path reads, in one pass over a request's fields; nil when the
    /// request is the route's: it comes from a browser (`Origin`: its answer needs CORS fields),
    /// or repeats a field read here (the route answers it as it would any such request).
    private struct LoopFields {
        var contentType: String?
        var idempotencyKey: String?
        var authorization: String?

        init?(_ fields: HTTPFields) {
            for field in fields {
                switch field.name {
                case .contentType:
                    guard contentType == nil else { return nil }
                    contentType = field.value
                case .idempotencyKey:
                    guard idempotencyKey == nil else { return nil }
                    idempotencyKey = field.value
                case .authorization:
                    guard authorization == nil else { return nil }
                    authorization = field.value
                case .origin:
                    return nil
                default:
                    continue
                }
            }
        }
    }

    /// A publish's 200 and its receipt as the bytes of one whole response (no header fields to
    /// convert and encode per answer).
    static func encodedReceipt(_ receipt: PublishReceipt) -> ByteBuffer {
        var json = ByteBuffer()
        write(receipt, into: &json)
        var response = ByteBuffer()
        response.reserveCapacity(128 + json.readableBytes)
        response.writeStaticString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
        response.writeString(String(json.readableBytes))
        response.writeStaticString("\r\nDate: ")
        response.writeString(HTTPDate.now)
        response.writeStaticString("\r\n\r\n")
        response.writeImmutableBuffer(json)
        return response
    }

    /// The type of a payload published without a `Content-Type`.
    static var defaultContentType: String { "application/octet-stream" }

    /// Whose bucket a publish is counted in: the credential, or for anonymous callers the IP address.
    static func rateKey(_ principal: Principal, remote: String) -> String {
        principal.isAnonymous ? "ip:" + Connection.ip(of: remote) : principal.name
    }

    /// A publish's receipt as the contract's JSON: `{"topic","seq","epoch","ts"}`, and
    /// `"duplicate":true` for a repeated idempotency key.
    static func json(_ receipt: PublishReceipt) -> String {
        var buffer = ByteBuffer()
        write(receipt, into: &buffer)
        return String(buffer: buffer)
    }

    /// Appends ``json(_:)``'s text to `buffer` without building strings on the way. The topic
    /// and epoch go in unescaped: a topic name is validated before any publish
    /// (`A-Z a-z 0-9 _ - .`), and epochs are the broker's own base-62 tokens, so neither holds
    /// a character JSON would escape.
    static func write(_ receipt: PublishReceipt, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"topic\":\"")
        buffer.writeString(receipt.topic)
        buffer.writeStaticString("\",\"seq\":")
        buffer.writeString(String(receipt.seq))
        buffer.writeStaticString(",\"epoch\":\"")
        buffer.writeString(receipt.epoch)
        buffer.writeStaticString("\",\"ts\":")
        buffer.writeString(String(receipt.ts))
        if receipt.duplicate { buffer.writeStaticString(",\"duplicate\":true") }
        buffer.writeStaticString("}")
    }
}

/// Whole HTTP/1.1 responses as bytes, for answers written below NIO's response encoder (which
/// keeps no state across complete responses): a publish's receipt, a woken poll's answer
/// (built once for every poll it answers), an error the connection answers itself.
enum HTTPWire {
    /// `head` and `body` as NIO's encoder would write them.
    static func encode(_ head: HTTPResponse, body: ByteBuffer) -> ByteBuffer {
        var text = "HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for field in head.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
        text += "\r\n"
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.utf8.count + body.readableBytes)
        buffer.writeString(text)
        buffer.writeImmutableBuffer(body)
        return buffer
    }

    /// ``encode(_:body:)`` of a head and body pair.
    static func encode(_ answer: (head: HTTPResponse, body: ByteBuffer)) -> ByteBuffer {
        encode(answer.head, body: answer.body)
    }
}
