import Foundation
import NIOCore
import SwitchboardCore

/// Parses the body of `POST /v1/publish` into publish requests, naming the first bad entry.
enum BatchParser {
    /// Parses `body`; `check` sees each parsed entry in order and may refuse it (403, 413).
    static func parse(
        _ body: ByteBuffer,
        check: (PublishRequest, Int) throws(APIError) -> Void = { _, _ throws(APIError) in }
    ) throws(APIError) -> [PublishRequest] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(buffer: body), options: [.fragmentsAllowed])
        } catch {
            throw APIError(.invalidJSON, message: "The body is not valid JSON.")
        }
        guard let root = object as? [String: Any], let events = root["events"] as? [Any] else {
            throw APIError(.invalidBatch, message: "A batch is an object with an \"events\" array.")
        }
        guard !events.isEmpty else {
            throw APIError(.invalidBatch, message: "The batch has no events.")
        }
        var requests: [PublishRequest] = []
        requests.reserveCapacity(events.count)
        for (index, entry) in events.enumerated() {
            let request = try parseEntry(entry, index: index)
            try check(request, index)
            requests.append(request)
        }
        return requests
    }

    private static func parseEntry(_ entry: Any, index: Int) throws(APIError) -> PublishRequest {
        func bad(_ message: String) -> APIError {
            APIError(.invalidBatch, message: "Entry \(index): \(message)", index: index)
        }
        guard let fields = entry as? [String: Any] else { throw bad("an entry is a JSON object.") }
        let allowed: Set<String> = ["topic", "data", "data_b64", "type"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw bad("unknown field \"\(unknown)\".")
        }
        guard let topic = fields["topic"] as? String else { throw bad("\"topic\" is a required string.") }
        guard TopicName.isValid(topic) else { throw APIError(.invalidTopic(topic), index: index) }
        switch (fields["data"], fields["data_b64"]) {
        case (.some(let data), nil):
            guard fields["type"] == nil else { throw bad("\"type\" is not allowed with \"data\" (it is always application/json).") }
            guard let text = try? JSONSerialization.data(withJSONObject: data, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
                throw bad("\"data\" cannot be stored as JSON.")
            }
            return PublishRequest(topic: topic, payload: ByteBuffer(bytes: text), contentType: "application/json")
        case (nil, .some(let encoded)):
            guard let encoded = encoded as? String, let bytes = Data(base64Encoded: encoded) else {
                throw bad("\"data_b64\" is not valid base64.")
            }
            var contentType = "application/octet-stream"
            if let type = fields["type"] {
                guard let type = type as? String, !type.isEmpty else { throw bad("\"type\" is a non-empty string.") }
                contentType = type
            }
            return PublishRequest(topic: topic, payload: ByteBuffer(bytes: bytes), contentType: contentType)
        case (.some, .some):
            throw bad("give exactly one of \"data\" and \"data_b64\", not both.")
        case (nil, nil):
            throw bad("give exactly one of \"data\" and \"data_b64\".")
        }
    }
}
