import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import SwitchboardCore

/// `POST /v1/topics/{topic}` and the all-or-nothing batch `POST /v1/publish`.
///
/// Each request is authenticated first (401), then checked (400), then authorized per topic
/// (403), then counted against the caller's publish rate (429), and only then is the body read.
struct PublishRoutes<Context: RemoteAddressContext>: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let maxPayloadBytes: Int
    /// Checks the `publish` grant.
    let access: AccessControl
    /// Bounds each caller's publish rate.
    let rateLimiter: PublishRateLimiter

    /// The largest batch body accepted: room for a few full-size payloads and their JSON.
    var maxBatchBytes: Int { max(16 * 1_048_576, maxPayloadBytes * 2) }

    func register(on router: Router<Context>) {
        router.post("/v1/topics/:topic") { request, context in try await publishOne(request, context) }
        router.post("/v1/publish") { request, context in try await publishBatch(request, context) }
    }

    private func publishOne(_ request: Request, _ context: Context) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let principal = try await access.authenticate(request, allowQueryToken: false)
        let topic = context.parameters.get("topic") ?? ""
        try admit(topic: topic, principal: principal, remote: context.remoteAddress)
        let body = try await collect(request, limit: maxPayloadBytes)
        let publish = Self.request(topic: topic, payload: body, fields: request.headers)
        do throws(EngineError) {
            let receipt = try await engine.publish(publish)
            return .json(Self.json(receipt))
        } catch {
            throw APIError(error)
        }
    }

    private func publishBatch(_ request: Request, _ context: Context) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let principal = try await access.authenticate(request, allowQueryToken: false)
        guard let type = request.headers[.contentType], Self.isJSON(type) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "A batch is sent as Content-Type: application/json.")
        }
        let body = try await collect(request, limit: maxBatchBytes)
        let batch = try BatchParser.parse(body) { entry, index throws(APIError) in
            // In entry order, so the first bad entry answers whether it is malformed, too large or forbidden.
            if entry.payload.readableBytes > maxPayloadBytes {
                throw APIError(
                    .contentTooLarge, code: "payload_too_large",
                    message: "Entry \(index): the payload is \(entry.payload.readableBytes) bytes; the limit is \(maxPayloadBytes).", index: index)
            }
            do throws(APIError) {
                try access.authorize(principal, .publish(entry.topic))
            } catch {
                throw APIError(error.status, code: error.code, message: "Entry \(index): \(error.message)", index: index)
            }
        }
        try rateLimiter.take(batch.count, for: rateKey(principal, remote: context.remoteAddress))
        do throws(BatchError) {
            let receipts = try await engine.publish(batch: batch)
            return .json("{\"results\":[" + receipts.map(Self.json).joined(separator: ",") + "]}")
        } catch {
            throw APIError(error.error, index: error.index)
        }
    }

    /// The checks of one event's publish once its caller is known, before its body is read:
    /// the topic (400), the grant (403), then the caller's publish rate (429, which takes one
    /// event from the caller's bucket when it passes). Shared with ``LoopPublisher``.
    func admit(topic: String, principal: Principal, remote: @autoclosure () -> String) throws(APIError) {
        guard TopicName.isValid(topic) else { throw APIError.invalidTopic(inPath: topic) }
        try access.authorize(principal, .publish(topic))
        if rateLimiter.isEnabled { try rateLimiter.take(1, for: rateKey(principal, remote: remote())) }
    }

    /// The type of a payload published without a `Content-Type`.
    static var defaultContentType: String { "application/octet-stream" }

    /// One event's publish: the body is the payload, and the request's `Content-Type` and
    /// `Idempotency-Key` go with it.
    static func request(topic: String, payload: ByteBuffer, fields: HTTPFields) -> PublishRequest {
        PublishRequest(
            topic: topic,
            payload: payload,
            contentType: fields[.contentType] ?? defaultContentType,
            idempotencyKey: fields[.idempotencyKey]
        )
    }

    /// Whose bucket a publish is counted in: the credential, or for anonymous callers the IP address.
    private func rateKey(_ principal: Principal, remote: String) -> String {
        principal.isAnonymous ? "ip:" + Connection.ip(of: remote) : principal.name
    }

    private func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "The body is over the limit of \(limit) bytes.")
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let base = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return base == "application/json" || (base.hasPrefix("application/") && base.hasSuffix("+json"))
    }

    /// A publish's receipt as the contract's JSON: `{"topic","seq","epoch","ts"}`, and
    /// `"duplicate":true` for a repeated idempotency key.
    static func json(_ receipt: PublishReceipt) -> String {
        var buffer = ByteBuffer()
        write(receipt, into: &buffer)
        return String(buffer: buffer)
    }

    /// Appends ``json(_:)``'s text to `buffer` without building strings on the way (the event
    /// loop's publish path writes one per request). The topic and epoch go in unescaped: a
    /// topic name is validated before any publish (`A-Z a-z 0-9 _ - .`), and epochs are the
    /// broker's own base-62 tokens, so neither holds a character JSON would escape.
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

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let secWebSocketProtocol = Self("Sec-WebSocket-Protocol")!
}
