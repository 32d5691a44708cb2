import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import SwitchboardCore

/// `POST /v1/topics/{topic}` and the all-or-nothing batch `POST /v1/publish`.
struct PublishRoutes<Context: RequestContext>: Sendable {
    let engine: any TopicEngine
    let state: BrokerState
    let maxPayloadBytes: Int

    /// The largest batch body accepted: room for a few full-size payloads and their JSON.
    var maxBatchBytes: Int { max(16 * 1_048_576, maxPayloadBytes * 2) }

    func register(on router: Router<Context>) {
        router.post("/v1/topics/:topic") { request, context in try await publishOne(request, context) }
        router.post("/v1/publish") { request, _ in try await publishBatch(request) }
    }

    private func publishOne(_ request: Request, _ context: Context) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let topic = context.parameters.get("topic") ?? ""
        guard TopicName.isValid(topic) else { throw APIError(.invalidTopic(topic)) }
        let body = try await collect(request, limit: maxPayloadBytes)
        let publish = PublishRequest(
            topic: topic,
            payload: body,
            contentType: request.headers[.contentType] ?? "application/octet-stream",
            idempotencyKey: request.headers[.idempotencyKey]
        )
        do throws(EngineError) {
            let receipt = try await engine.publish(publish)
            return .json(Self.json(receipt))
        } catch {
            throw APIError(error)
        }
    }

    private func publishBatch(_ request: Request) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        guard let type = request.headers[.contentType], Self.isJSON(type) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "A batch is sent as Content-Type: application/json.")
        }
        let body = try await collect(request, limit: maxBatchBytes)
        let batch = try BatchParser.parse(body)
        do throws(BatchError) {
            let receipts = try await engine.publish(batch: batch)
            return .json("{\"results\":[" + receipts.map(Self.json).joined(separator: ",") + "]}")
        } catch {
            throw APIError(error.error, index: error.index)
        }
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

    static func json(_ receipt: PublishReceipt) -> String {
        var out = JSONWriter()
        out.field("topic", string: receipt.topic)
        out.field("seq", raw: String(receipt.seq))
        out.field("epoch", string: receipt.epoch)
        out.field("ts", raw: String(receipt.ts))
        if receipt.duplicate { out.field("duplicate", raw: "true") }
        return out.finish()
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let secWebSocketProtocol = Self("Sec-WebSocket-Protocol")!
}
