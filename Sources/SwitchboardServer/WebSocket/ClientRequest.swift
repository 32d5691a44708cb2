import Foundation
import SwitchboardCore

/// A text frame from a WebSocket client: one JSON object with an `op`, checked field by field.
///
/// The `id` is read first, so that every error about anything else still echoes it (an id of
/// the wrong type is the one error answered without it). A field its op does not define, a
/// field of the wrong type, and a negative or fractional `since` or `last` are
/// `invalid_request` naming the field.
struct ClientRequest {
    /// What a client asked for, checked.
    enum Operation: Equatable {
        case subscribe(topic: String, start: StartPosition)
        case unsubscribe(topic: String)
    }

    /// A refusal to answer with an `error` control message.
    struct Failure: Error, Equatable {
        /// Which of the contract's errors this is.
        var error: ContractError
        var message: String
        var id: MessageID?

        init(_ error: ContractError, message: String, id: MessageID? = nil) {
            self.error = error
            self.message = message
            self.id = id
        }

        /// The contract's code, for the `error` message.
        var code: String { error.code }
    }

    /// The fields each op defines.
    static let fields: [String: Set<String>] = [
        "subscribe": ["op", "id", "topic", "since", "last", "epoch", "delta"],
        "unsubscribe": ["op", "id", "topic"],
    ]

    private let object: [String: JSONField]
    private let id: MessageID?

    /// Parses a text frame into an operation, or the error message to answer with.
    /// `zstd` says whether the connection is a zstd one (where `"delta":true` is defined).
    static func parse(_ text: String, zstd: Bool = false) -> Result<(Operation, MessageID?), Failure> {
        let object: [String: JSONField]
        do {
            object = try JSONDecoder().decode([String: JSONField].self, from: Data(text.utf8))
        } catch DecodingError.typeMismatch {
            return .failure(Failure(.invalidJSON, message: "A message is one JSON object."))
        } catch {
            return .failure(Failure(.invalidJSON, message: "The message is not valid JSON."))
        }
        let id: MessageID?
        switch object["id"] {
        case nil, .null: id = nil
        case .string(let text): id = .string(text)
        case .integer(let value): id = .number(String(value))
        case .unsigned(let value): id = .number(String(value))
        case .number(let value): id = .number(String(value))
        case .bool, .other:
            return .failure(Failure(.invalidRequest, message: "\"id\" has the wrong type: a number or a string."))
        }
        let request = ClientRequest(object: object, id: id)
        do throws(Failure) {
            return .success((try request.operation(zstd: zstd), id))
        } catch {
            return .failure(error)
        }
    }

    private func operation(zstd: Bool) throws(Failure) -> Operation {
        guard let op = try string("op") else { throw invalid("\"op\" is required.") }
        guard let defined = Self.fields[op] else {
            throw Failure(.unknownOp, message: "Unknown op '\(op.prefix(40))'; use subscribe or unsubscribe.", id: id)
        }
        if let unknown = object.keys.filter({ !defined.contains($0) }).sorted().first {
            throw invalid("\"\(unknown.prefix(40))\" is not a field of \(op); it takes \(defined.sorted().joined(separator: ", ")).")
        }
        guard let topic = try string("topic") else { throw invalid("\(op) needs a \"topic\".") }
        guard TopicName.isValid(topic) else { throw Failure(.invalidTopic, message: EngineError.invalidTopic(topic).message, id: id) }
        guard op == "subscribe" else { return .unsubscribe(topic: topic) }

        let since = try wholeNumber("since", max: UInt64.max)
        let last = try wholeNumber("last", max: UInt64(UInt32.max))
        let epoch = try string("epoch")
        if try bool("delta") == true {
            guard zstd else { throw invalid("\"delta\":true needs a zstd connection (switchboard.v1.zstd, or ?compression=zstd).") }
            throw invalid("Delta frames are not supported by this broker yet; subscribe without \"delta\" (or with \"delta\":false).")
        }
        switch (since, last) {
        case (.some, .some): throw invalid("Give \"since\" or \"last\", not both.")
        case (.some(let since), nil): return .subscribe(topic: topic, start: .since(since, epoch: epoch))
        case (nil, .some(let last)): return .subscribe(topic: topic, start: .last(Int(last)))
        case (nil, nil): return .subscribe(topic: topic, start: .live)
        }
    }

    private func invalid(_ message: String) -> Failure {
        Failure(.invalidRequest, message: message, id: id)
    }

    /// A string field; nil when absent or null.
    private func string(_ name: String) throws(Failure) -> String? {
        switch object[name] {
        case nil, .null: return nil
        case .string(let text): return text
        default: throw invalid("\"\(name)\" has the wrong type: a string.")
        }
    }

    /// A boolean field; nil when absent or null.
    private func bool(_ name: String) throws(Failure) -> Bool? {
        switch object[name] {
        case nil, .null: return nil
        case .bool(let value): return value
        default: throw invalid("\"\(name)\" has the wrong type: true or false.")
        }
    }

    /// A whole number from 0 to `max`; nil when absent or null.
    private func wholeNumber(_ name: String, max: UInt64) throws(Failure) -> UInt64? {
        let value: UInt64
        switch object[name] {
        case nil, .null: return nil
        case .integer(let number) where number >= 0: value = UInt64(number)
        case .unsigned(let number): value = number
        default: throw invalid("\"\(name)\" must be a whole number from 0 to \(max).")
        }
        guard value <= max else { throw invalid("\"\(name)\" must be a whole number from 0 to \(max).") }
        return value
    }
}

/// One JSON value of a client message, kept as precisely as its field's check needs.
enum JSONField: Decodable, Equatable {
    case null
    case bool(Bool)
    /// A whole number that fits in `Int64`.
    case integer(Int64)
    /// A whole number above `Int64.max` that fits in `UInt64`.
    case unsigned(UInt64)
    /// Any other finite number.
    case number(Double)
    case string(String)
    /// An array or an object.
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .other
        }
    }
}
