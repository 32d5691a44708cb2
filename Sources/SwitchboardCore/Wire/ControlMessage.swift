public import NIOCore

/// A JSON control message from the broker to a WebSocket client (a text frame).
public enum ControlMessage: Sendable, Equatable {
    /// A subscription is active; comes before any event or gap of it.
    case subscribed(topic: String, epoch: String, seq: UInt64, reset: Bool, id: MessageID?)
    /// A subscription ended at the client's request.
    case unsubscribed(topic: String, id: MessageID?)
    /// Events `from...to` will never reach this connection.
    case gap(Gap)
    /// A request failed; the connection stays open.
    case error(code: String, message: String, id: MessageID?)
    /// An operator deleted the topic; the subscription ended.
    case deleted(topic: String)

    /// The topic the message belongs to, if any.
    public var topic: String? {
        switch self {
        case .subscribed(let topic, _, _, _, _), .unsubscribed(let topic, _), .deleted(let topic): topic
        case .gap(let gap): gap.topic
        case .error: nil
        }
    }

    /// The message as compact JSON text.
    public var json: String {
        var out = JSONWriter()
        switch self {
        case .subscribed(let topic, let epoch, let seq, let reset, let id):
            out.field("type", string: "subscribed")
            out.field("topic", string: topic)
            out.field("epoch", string: epoch)
            out.field("seq", raw: String(seq))
            out.field("reset", raw: reset ? "true" : "false")
            if let id { out.field("id", raw: id.json) }
        case .unsubscribed(let topic, let id):
            out.field("type", string: "unsubscribed")
            out.field("topic", string: topic)
            if let id { out.field("id", raw: id.json) }
        case .gap(let gap):
            out.field("type", string: "gap")
            out.field("topic", string: gap.topic)
            out.field("from", raw: String(gap.from))
            out.field("to", raw: String(gap.to))
        case .error(let code, let message, let id):
            out.field("type", string: "error")
            out.field("code", string: code)
            out.field("message", string: message)
            if let id { out.field("id", raw: id.json) }
        case .deleted(let topic):
            out.field("type", string: "deleted")
            out.field("topic", string: topic)
        }
        return out.finish()
    }

    /// The message as a buffer ready to write as a text frame.
    public var buffer: ByteBuffer { ByteBuffer(string: json) }
}

/// A client's request `id`, echoed verbatim in answers: a JSON number or string.
public enum MessageID: Sendable, Equatable, Hashable {
    /// A numeric id, kept as the JSON text the client sent (so 1.50 stays 1.50).
    case number(String)
    /// A string id.
    case string(String)

    /// The id as JSON text.
    public var json: String {
        switch self {
        case .number(let text): text
        case .string(let text): JSONWriter.quote(text)
        }
    }
}

/// A minimal writer of one flat JSON object, for messages built on hot paths.
public struct JSONWriter {
    private var text = "{"
    private var first = true

    /// Starts an empty object.
    public init() {}

    /// Adds `"key": "value"` with the value escaped.
    public mutating func field(_ key: String, string value: String) {
        field(key, raw: Self.quote(value))
    }

    /// Adds `"key": raw` where `raw` is already valid JSON.
    public mutating func field(_ key: String, raw value: String) {
        if !first { text += "," }
        first = false
        text += Self.quote(key)
        text += ":"
        text += value
    }

    /// Closes the object and returns its text.
    public consuming func finish() -> String { text + "}" }

    /// `value` as a JSON string literal.
    public static func quote(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension MessageID: Decodable {
    /// Decodes a JSON number (kept as its text) or string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let int = try? container.decode(Int64.self) {
            self = .number(String(int))
        } else if let double = try? container.decode(Double.self), double.isFinite {
            self = .number(String(double))
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}
