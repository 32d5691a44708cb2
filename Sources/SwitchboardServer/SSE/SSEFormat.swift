import NIOCore
import SwitchboardCore

/// The `text/event-stream` rendering of poll batches: every message carries the cursor after
/// it as its `id:`, so a browser's `Last-Event-ID` resumes exactly where it stopped.
enum SSEFormat {
    /// Sent first, so clients and proxies see the stream open at once.
    static let opening = ByteBuffer(string: ": switchboard event stream\n\n")
    /// A comment that keeps proxies from closing an idle stream.
    static let heartbeat = ByteBuffer(string: ": keep-alive\n\n")

    /// Renders a batch: resets and gaps first (they come before the events after a hole), then events.
    static func render(_ batch: PollBatch) -> ByteBuffer {
        // Rewind each topic's final position by its events in this batch: that is where the
        // reader stands once told of resets and gaps, before the first event.
        var positions = batch.cursor.positions
        for (topic, _) in batch.events {
            if let index = positions.firstIndex(where: { $0.topic == topic }) { positions[index].seq -= 1 }
        }
        var out = ByteBuffer()
        for reset in batch.resets {
            message(into: &out, id: Cursor(positions: positions).encoded(), event: "reset", data: EventJSON.reset(reset))
        }
        for gap in batch.gaps {
            message(into: &out, id: Cursor(positions: positions).encoded(), event: "gap", data: EventJSON.gap(gap))
        }
        for (topic, event) in batch.events {
            if let index = positions.firstIndex(where: { $0.topic == topic }) { positions[index].seq = event.seq }
            message(into: &out, id: Cursor(positions: positions).encoded(), event: "message", data: EventJSON.event(event, topic: topic))
        }
        return out
    }

    /// `event: deleted` for a topic an operator deleted.
    static func deleted(_ topic: String) -> ByteBuffer {
        var out = ByteBuffer()
        var json = JSONWriter()
        json.field("topic", string: topic)
        message(into: &out, id: nil, event: "deleted", data: json.finish())
        return out
    }

    /// `event: error` before a stream ends because a read failed.
    static func error(_ error: EngineError) -> ByteBuffer {
        var out = ByteBuffer()
        var json = JSONWriter()
        json.field("code", string: error.code)
        json.field("message", string: error.message)
        message(into: &out, id: nil, event: "error", data: json.finish())
        return out
    }

    /// One message; `data` may hold line breaks (JSON whitespace), so each line gets its own `data:`.
    static func message(into out: inout ByteBuffer, id: String?, event: String, data: String) {
        if let id { out.writeString("id: \(id)\n") }
        out.writeString("event: \(event)\n")
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            out.writeString("data: ")
            out.writeSubstring(line)
            out.writeString("\n")
        }
        out.writeString("\n")
    }
}
