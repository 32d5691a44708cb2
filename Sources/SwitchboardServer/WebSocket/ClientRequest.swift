import Foundation
import SwitchboardCore

/// A text frame from a WebSocket client: one JSON object with an `op`.
struct ClientRequest: Decodable {
    var op: String?
    var topic: String?
    var since: UInt64?
    var last: UInt32?
    var epoch: String?
    var id: MessageID?

    /// What a client asked for, checked.
    enum Operation: Equatable {
        case subscribe(topic: String, start: StartPosition)
        case unsubscribe(topic: String)
    }

    /// A refusal to answer with an `error` control message.
    struct Failure: Error {
        var code: String
        var message: String
        var id: MessageID?
    }

    /// Parses a text frame into an operation, or the error message to answer with.
    static func parse(_ text: String) -> Result<(Operation, MessageID?), Failure> {
        let request: ClientRequest
        do {
            request = try JSONDecoder().decode(ClientRequest.self, from: Data(text.utf8))
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            return .failure(Failure(code: "invalid_json", message: "The message is not valid JSON."))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            return .failure(Failure(code: "invalid_json", message: "A message is one JSON object."))
        } catch let error as DecodingError {
            return .failure(Failure(code: "invalid_request", message: Self.describe(error)))
        } catch {
            return .failure(Failure(code: "invalid_json", message: "The message is not valid JSON."))
        }
        return request.operation().map { ($0, request.id) }
    }

    private func operation() -> Result<Operation, Failure> {
        guard let op else { return .failure(Failure(code: "invalid_request", message: "\"op\" is required.", id: id)) }
        switch op {
        case "subscribe":
            guard let topic else { return .failure(Failure(code: "invalid_request", message: "subscribe needs a \"topic\".", id: id)) }
            guard TopicName.isValid(topic) else { return .failure(Failure(code: "invalid_topic", message: EngineError.invalidTopic(topic).message, id: id)) }
            switch (since, last) {
            case (.some, .some):
                return .failure(Failure(code: "invalid_request", message: "Give \"since\" or \"last\", not both.", id: id))
            case (.some(let since), nil):
                return .success(.subscribe(topic: topic, start: .since(since, epoch: epoch)))
            case (nil, .some(let last)):
                return .success(.subscribe(topic: topic, start: .last(Int(last))))
            case (nil, nil):
                return .success(.subscribe(topic: topic, start: .live))
            }
        case "unsubscribe":
            guard let topic else { return .failure(Failure(code: "invalid_request", message: "unsubscribe needs a \"topic\".", id: id)) }
            guard TopicName.isValid(topic) else { return .failure(Failure(code: "invalid_topic", message: EngineError.invalidTopic(topic).message, id: id)) }
            return .success(.unsubscribe(topic: topic))
        default:
            return .failure(Failure(code: "unknown_op", message: "Unknown op '\(op.prefix(40))'; use subscribe or unsubscribe.", id: id))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\"\(field)\" has the wrong type: \(Self.expected(field))."
        case .keyNotFound(let key, _):
            return "\"\(key.stringValue)\" is required."
        @unknown default:
            return "The message does not follow the protocol."
        }
    }

    private static func expected(_ field: String) -> String {
        switch field {
        case "since": "a whole number from 0"
        case "last": "a whole number from 0"
        case "id": "a number or a string"
        default: "a string"
        }
    }
}
