import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOFoundationCompat
import SwitchboardCore

extension SwitchboardClient {
    /// One entry of a batch publish (`POST /v1/publish`).
    public struct BatchEntry: Sendable, Equatable {
        enum Payload: Sendable, Equatable {
            case bytes(Data, type: String?)
            case json(String)
        }

        /// The topic to publish to.
        public let topic: String
        let payload: Payload

        /// Bytes, sent as `data_b64`, with their content type (the broker's default
        /// `application/octet-stream` when `nil`).
        public static func bytes(_ topic: String, _ data: Data, contentType: String? = nil) -> BatchEntry {
            BatchEntry(topic: topic, payload: .bytes(data, type: contentType))
        }

        /// A JSON value, sent as `data` (stored as JSON text with type `application/json`).
        public static func json(_ topic: String, _ value: some Encodable) throws -> BatchEntry {
            let text = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
            return BatchEntry(topic: topic, payload: .json(text))
        }

        /// JSON text that is already encoded, sent as `data` as it is.
        public static func json(_ topic: String, text: String) -> BatchEntry {
            BatchEntry(topic: topic, payload: .json(text))
        }

        /// The entry as the contract's JSON object.
        var json: String {
            var out = "{\"topic\":" + JSONWriter.quote(topic)
            switch payload {
            case .json(let text):
                out += ",\"data\":" + text
            case .bytes(let data, let type):
                out += ",\"data_b64\":" + JSONWriter.quote(data.base64EncodedString())
                if let type { out += ",\"type\":" + JSONWriter.quote(type) }
            }
            return out + "}"
        }
    }

    /// Publishes one event (`POST /v1/topics/{topic}`) and returns its receipt.
    ///
    /// With `idempotencyKey`, a repeat while the first event is still buffered publishes nothing and
    /// returns the first event's receipt with ``PublishReceipt/duplicate`` true. Throws
    /// ``SwitchboardError/broker(code:message:status:index:)`` for an error answer
    /// (``SwitchboardError/unauthorized(message:)`` for 401).
    ///
    /// Over AsyncHTTPClient, which is among the packages available offline here: its shared client
    /// pools connections and speaks HTTPS, which a hand-written HTTP/1.1 request would not.
    @discardableResult
    public func publish(
        _ topic: String, data: Data, contentType: String = "application/octet-stream", idempotencyKey: String? = nil
    ) async throws -> PublishReceipt {
        let path = "/v1/topics/" + (topic.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? topic)
        var headers = [("Content-Type", contentType)]
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        let body = try await post(path, headers: headers, body: ByteBuffer(data: data))
        do {
            return try JSONDecoder().decode(PublishReceipt.self, from: body)
        } catch {
            throw SwitchboardError.invalidResponse("publish answer: \(error)")
        }
    }

    /// Publishes UTF-8 text (type `text/plain; charset=utf-8` unless told otherwise).
    @discardableResult
    public func publish(
        _ topic: String, text: String, contentType: String = "text/plain; charset=utf-8", idempotencyKey: String? = nil
    ) async throws -> PublishReceipt {
        try await publish(topic, data: Data(text.utf8), contentType: contentType, idempotencyKey: idempotencyKey)
    }

    /// Publishes a value encoded as JSON (type `application/json`).
    @discardableResult
    public func publish(_ topic: String, json value: some Encodable, idempotencyKey: String? = nil) async throws -> PublishReceipt {
        try await publish(topic, data: try JSONEncoder().encode(value), contentType: "application/json", idempotencyKey: idempotencyKey)
    }

    /// Publishes several events at once, all or nothing (`POST /v1/publish`); returns the receipts
    /// in request order. A refused batch throws the first bad entry's error, with its `index`.
    @discardableResult
    public func publishBatch(_ entries: [BatchEntry]) async throws -> [PublishReceipt] {
        struct Results: Decodable { var results: [PublishReceipt] }
        let json = "{\"events\":[" + entries.map(\.json).joined(separator: ",") + "]}"
        let body = try await post("/v1/publish", headers: [("Content-Type", "application/json")], body: ByteBuffer(string: json))
        do {
            return try JSONDecoder().decode(Results.self, from: body).results
        } catch {
            throw SwitchboardError.invalidResponse("batch answer: \(error)")
        }
    }

    /// POSTs `body` to `path` under the base URL with the current token; the answer's body, or
    /// the contract's error.
    private func post(_ path: String, headers: [(String, String)], body: ByteBuffer) async throws -> Data {
        if let error, case .invalidArgument = error { throw error }
        var request = HTTPClientRequest(url: url.absoluteString + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token = try await tokens.current() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(body)
        let timeout = TimeAmount.nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let answer = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        guard response.status.code == 200 else {
            throw ErrorBody.error(status: Int(response.status.code), body: answer)
        }
        return answer
    }
}
