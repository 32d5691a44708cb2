import Foundation
import NIOCore
import SwitchboardCore

/// The JSON shapes of the HTTP transports: events, gaps, resets, and whole poll and history answers.
enum EventJSON {
    /// `{"topic","seq","ts","type","data"|"data_b64"}` for one event.
    static func event(_ event: Event, topic: String) -> String {
        var out = JSONWriter()
        out.field("topic", string: topic)
        out.field("seq", raw: String(event.seq))
        out.field("ts", raw: String(event.ts))
        out.field("type", string: event.contentType)
        let (key, value) = payload(event)
        out.field(key, raw: value)
        return out.finish()
    }

    /// The payload as the contract maps it: parsed JSON for JSON types, a string for UTF-8
    /// `text/*`, base64 for everything else (including JSON or text that does not parse).
    static func payload(_ event: Event) -> (key: String, json: String) {
        let type = mediaType(event.contentType)
        let bytes = event.payload.readableBytesView
        if isJSON(type), let text = validJSON(bytes) {
            return ("data", text)
        }
        if type.hasPrefix("text/"), let text = String(validating: bytes, as: UTF8.self) {
            return ("data", JSONWriter.quote(text))
        }
        return ("data_b64", "\"" + Data(bytes).base64EncodedString() + "\"")
    }

    /// `{"topic","from","to"}`.
    static func gap(_ gap: Gap) -> String {
        var out = JSONWriter()
        out.field("topic", string: gap.topic)
        out.field("from", raw: String(gap.from))
        out.field("to", raw: String(gap.to))
        return out.finish()
    }

    /// `{"topic","epoch"}`.
    static func reset(_ reset: PollBatch.Reset) -> String {
        var out = JSONWriter()
        out.field("topic", string: reset.topic)
        out.field("epoch", string: reset.epoch)
        return out.finish()
    }

    /// The answer of `GET /v1/poll`.
    static func pollAnswer(_ batch: PollBatch) -> ByteBuffer {
        var out = JSONWriter()
        out.field("events", raw: array(batch.events.map { event($0.event, topic: $0.topic) }))
        out.field("gaps", raw: array(batch.gaps.map(gap)))
        out.field("resets", raw: array(batch.resets.map(reset)))
        out.field("cursor", string: batch.cursor.encoded())
        return ByteBuffer(string: out.finish())
    }

    /// The answer of `GET /v1/topics/{topic}/events`; `read` is nil for an unknown topic.
    static func historyAnswer(topic: String, read: TopicRead?) -> ByteBuffer {
        var out = JSONWriter()
        out.field("topic", string: topic)
        out.field("epoch", raw: read.map { JSONWriter.quote($0.epoch) } ?? "null")
        out.field("seq", raw: String(read?.newestSeq ?? 0))
        out.field("events", raw: array((read?.events ?? []).map { event($0, topic: topic) }))
        out.field("gaps", raw: array([read?.gap].compactMap { $0 }.map(gap)))
        return ByteBuffer(string: out.finish())
    }

    static func array(_ items: [String]) -> String {
        "[" + items.joined(separator: ",") + "]"
    }

    /// The type without parameters, lowercased: `Application/JSON; charset=utf-8` → `application/json`.
    static func mediaType(_ contentType: String) -> String {
        let base = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return base.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// `application/json` or any `*/*+json`.
    static func isJSON(_ mediaType: String) -> Bool {
        mediaType == "application/json" || (mediaType.contains("/") && mediaType.hasSuffix("+json"))
    }

    /// The payload's text when it is one valid JSON value (a leading byte-order mark dropped).
    private static func validJSON(_ bytes: ByteBufferView) -> String? {
        var bytes = bytes[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self),
            (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
        else { return nil }
        return text
    }
}
