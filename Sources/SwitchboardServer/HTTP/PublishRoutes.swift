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
    /// The one path of a single event's publish; its engine, state, grants, rate and limit serve batches too.
    let publisher: EventPublisher

    private var engine: any TopicEngine { publisher.engine }
    private var state: BrokerState { publisher.state }
    private var maxPayloadBytes: Int { publisher.maxPayloadBytes }
    private var access: AccessControl { publisher.access }
    private var rateLimiter: PublishRateLimiter { publisher.rateLimiter }

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
        try publisher.admit(topic: topic, principal: principal, remote: context.remoteAddress)
        let body = try await collect(request, limit: maxPayloadBytes)
        let receipt = try await publisher.publish(topic: topic, fields: request.headers, body: body)
        return .json(EventPublisher.json(receipt))
    }

    private func publishBatch(_ request: Request, _ context: Context) async throws -> Response {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let principal = try await access.authenticate(request, allowQueryToken: false)
        guard let type = request.headers[.contentType], Self.isJSON(type) else {
            throw APIError(.unsupportedMediaType, message: "A batch is sent as Content-Type: application/json.")
        }
        let body = try await collect(request, limit: maxBatchBytes)
        let batch = try BatchParser.parse(body) { entry, index throws(APIError) in
            // In entry order, so the first bad entry answers whether it is malformed, too large or forbidden.
            if entry.payload.readableBytes > maxPayloadBytes {
                throw APIError(.payloadTooLarge, message: "Entry \(index): the payload is \(entry.payload.readableBytes) bytes; the limit is \(maxPayloadBytes).", index: index)
            }
            do throws(APIError) {
                try access.authorize(principal, .publish(entry.topic))
            } catch {
                throw APIError(error.error, message: "Entry \(index): \(error.message)", index: index)
            }
        }
        try rateLimiter.take(batch.count, for: EventPublisher.rateKey(principal, remote: context.remoteAddress))
        do throws(BatchError) {
            let receipts = try await engine.publish(batch: batch)
            return .json("{\"results\":[" + receipts.map(EventPublisher.json).joined(separator: ",") + "]}")
        } catch {
            throw APIError(error.error, index: error.index)
        }
    }

    private func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let base = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return base == "application/json" || (base.hasPrefix("application/") && base.hasSuffix("+json"))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let secWebSocketProtocol = Self("Sec-WebSocket-Protocol")!
}
