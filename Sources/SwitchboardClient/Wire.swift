import Foundation
import SwitchboardCore

/// A control message from the broker (a text frame), as far as the client reads it.
struct BrokerMessage: Decodable, Sendable, Equatable {
    var type: String
    var topic: String?
    var epoch: String?
    var seq: UInt64?
    var reset: Bool?
    var from: UInt64?
    var to: UInt64?
    var code: String?
    var message: String?
    var id: Int?

    enum CodingKeys: String, CodingKey { case type, topic, epoch, seq, reset, from, to, code, message, id }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        topic = try c.decodeIfPresent(String.self, forKey: .topic)
        epoch = try c.decodeIfPresent(String.self, forKey: .epoch)
        seq = try c.decodeIfPresent(UInt64.self, forKey: .seq)
        reset = try c.decodeIfPresent(Bool.self, forKey: .reset)
        from = try c.decodeIfPresent(UInt64.self, forKey: .from)
        to = try c.decodeIfPresent(UInt64.self, forKey: .to)
        code = try c.decodeIfPresent(String.self, forKey: .code)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        id = try? c.decodeIfPresent(Int.self, forKey: .id)  // ours are integers; others are not ours
    }

    /// Parses one text frame.
    static func parse(_ text: String) -> BrokerMessage? {
        try? JSONDecoder().decode(BrokerMessage.self, from: Data(text.utf8))
    }
}

/// The ops the client sends (text frames), as compact JSON.
enum ClientOp {
    /// `{"op":"subscribe",…}` for `request`.
    static func subscribe(_ request: ResumeState.Request, id: Int) -> String {
        var out = JSONWriter()
        out.field("op", string: "subscribe")
        out.field("topic", string: request.topic)
        if let since = request.since {
            out.field("since", raw: String(since))
            if let epoch = request.epoch { out.field("epoch", string: epoch) }
        } else if let last = request.last {
            out.field("last", raw: String(last))
        }
        out.field("id", raw: String(id))
        return out.finish()
    }

    /// `{"op":"unsubscribe","topic":…,"id":…}`.
    static func unsubscribe(topic: String, id: Int) -> String {
        var out = JSONWriter()
        out.field("op", string: "unsubscribe")
        out.field("topic", string: topic)
        out.field("id", raw: String(id))
        return out.finish()
    }
}

/// The contract's HTTP error body: `{"error":{"code","message","index"?}}`.
struct ErrorBody: Decodable {
    struct Inner: Decodable {
        var code: String
        var message: String?
        var index: Int?
    }
    var error: Inner

    /// The error for an HTTP answer with `status` and `body`.
    static func error(status: Int, body: Data) -> SwitchboardError {
        let inner = (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error
        let message = inner?.message ?? String(decoding: body.prefix(200), as: UTF8.self)
        if status == 401 { return .unauthorized(message: message) }
        return .broker(code: inner?.code ?? "http_\(status)", message: message, status: status, index: inner?.index)
    }
}
