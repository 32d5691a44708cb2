import CompressNIO
import NIOCore
import Synchronization

/// permessage-deflate (RFC 7692) on `switchboard.v1` connections: the negotiation, and the
/// compression and decompression of single messages.
///
/// The broker always works without context takeover in both directions: every message is
/// compressed on its own, so a topic batch is deflated once and the same bytes go to every
/// deflate subscriber (``SwitchboardCore/EncodedFrame/webSocketDeflated(_:)``), and a
/// connection keeps no zlib state between messages.
enum PerMessageDeflate {
    /// The extension's token in `Sec-WebSocket-Extensions`.
    static let token = "permessage-deflate"
    /// The window the broker compresses with (2^15 bytes): the only one it offers, so that one
    /// compressed copy of a batch serves every connection.
    static let windowBits = 15

    /// An accepted offer.
    struct Agreement: Equatable, Sendable {
        /// The `Sec-WebSocket-Extensions` value of the `101` answer.
        var response: String
    }

    /// Picks the first `permessage-deflate` offer the broker can honour from the request's
    /// `Sec-WebSocket-Extensions` values, in the client's order; nil when there is none or on
    /// a zstd connection (the contract declines the extension there).
    ///
    /// Parameters honoured (RFC 7692 §7.1): `server_no_context_takeover` and
    /// `client_no_context_takeover` (the broker answers both anyway), `client_max_window_bits`
    /// with or without a value (the broker inflates with the largest window, which reads any
    /// smaller one, so it does not answer it), and `server_max_window_bits=15` (answered back,
    /// as §7.1.2.1 asks). An offer with a smaller server window, an unknown parameter, a
    /// repeated parameter or a malformed value is declined, and the next offer is looked at.
    static func negotiate(_ headerValues: [String], zstd: Bool) -> Agreement? {
        guard !zstd else { return nil }
        for offer in headerValues.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: true) }) {
            let parts = offer.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts[0].lowercased() == token else { continue }
            if let agreement = accept(parameters: parts.dropFirst()) { return agreement }
        }
        return nil
    }

    /// The answer to one `permessage-deflate` offer, or nil when it cannot be honoured.
    private static func accept(parameters: ArraySlice<String>) -> Agreement? {
        var seen: Set<String> = []
        var echoServerWindow = false
        for parameter in parameters {
            let pieces = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            var value: String?
            if pieces.count == 2 {
                var text = pieces[1].trimmingCharacters(in: .whitespaces)
                if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
                value = text
            }
            guard !name.isEmpty, seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard value == nil else { return nil }
            case "server_max_window_bits":
                guard let value, let bits = windowBits(value), bits == windowBits else { return nil }
                echoServerWindow = true
            case "client_max_window_bits":
                if let value, windowBits(value) == nil { return nil }
            default:
                return nil
            }
        }
        var response = "\(token); server_no_context_takeover; client_no_context_takeover"
        if echoServerWindow { response += "; server_max_window_bits=\(windowBits)" }
        return Agreement(response: response)
    }

    /// A window-bits value: 8 to 15, digits only, no leading zero (RFC 7692 §7.1.2).
    private static func windowBits(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 2, text.utf8.allSatisfy({ (48...57).contains($0) }), !text.hasPrefix("0"),
            let bits = Int(text), (8...15).contains(bits)
        else { return nil }
        return bits
    }

    // MARK: Compressing

    /// The tail a sync flush ends with, removed from each compressed message (§7.2.1) and put
    /// back before inflating one (§7.2.2).
    static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// `payload` as the compressed data of one message without context takeover: raw deflate,
    /// sync flush, the trailing `00 00 FF FF` removed. Nil if zlib fails.
    static func deflate(_ payload: ByteBuffer) -> ByteBuffer? {
        let compressor = Deflaters.shared.take()
        defer { Deflaters.shared.give(compressor) }
        guard let compressor, (try? compressor.compressor.reset()) != nil else { return nil }
        var input = payload
        var output = ByteBuffer()
        output.reserveCapacity(compressor.compressor.maxSize(from: payload))
        do {
            try compressor.compressor.deflate(from: &input, to: &output, flush: .sync)
        } catch {
            return nil
        }
        guard input.readableBytes == 0, output.readableBytes >= tail.count,
            output.readableBytesView.suffix(tail.count).elementsEqual(tail)
        else { return nil }
        output.moveWriterIndex(to: output.writerIndex - tail.count)
        return output
    }

    // MARK: Inflating

    /// What inflating a client message came to.
    enum Inflated: Equatable {
        /// The message's payload.
        case message(ByteBuffer)
        /// It inflates to more than the limit (close 1009).
        case tooBig
        /// It is not valid compressed data (close 1007).
        case invalid
    }

    /// Inflates one client message sent without context takeover, stopping as soon as the
    /// payload would pass `limit` bytes: a small message that inflates to a huge one (a
    /// deflate bomb) costs at most `limit` bytes of memory.
    static func inflate(_ compressed: ByteBuffer, limit: Int) -> Inflated {
        guard let decompressor = try? ZlibDecompressor(algorithm: .deflate, windowSize: Int32(windowBits)) else { return .invalid }
        var input = compressed
        input.writeBytes(tail)
        var output = ByteBuffer()
        var capacity = min(limit + 1, max(1024, compressed.readableBytes * 4))
        output.reserveCapacity(capacity)
        while true {
            do {
                try decompressor.inflate(from: &input, to: &output)
                // Z_OK with room to spare (all input read) or the end of a final block.
                return output.readableBytes > limit ? .tooBig : .message(output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // The output is full: more room, up to one byte past the limit.
                guard output.readableBytes <= limit, capacity <= limit else { return .tooBig }
                capacity = min(limit + 1, capacity * 2)
                output.reserveCapacity(capacity)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // No progress possible: everything was read and written.
                return output.readableBytes > limit ? .tooBig : .message(output)
            } catch {
                return .invalid
            }
        }
    }
}

/// A few raw-deflate compressors kept for reuse: making one allocates zlib's state (about
/// 256 KiB), which should not happen once per batch.
private final class Deflaters: Sendable {
    /// A compressor moved between threads; only one thread uses it at a time (taken, then given back).
    struct Entry: @unchecked Sendable {
        let compressor: ZlibCompressor
    }

    static let shared = Deflaters()
    /// The most compressors kept idle.
    private static let keep = 8
    private let idle = Mutex<[Entry]>([])

    /// An idle compressor, or a new one; nil if zlib cannot make one.
    func take() -> Entry? {
        if let entry = idle.withLock({ $0.popLast() }) { return entry }
        let configuration = ZlibConfiguration(windowSize: Int32(PerMessageDeflate.windowBits), compressionLevel: -1, memoryLevel: 8, strategy: .default)
        return (try? ZlibCompressor(algorithm: .deflate, configuration: configuration)).map(Entry.init)
    }

    /// Gives `entry` back for reuse.
    func give(_ entry: Entry?) {
        guard let entry else { return }
        idle.withLock { idle in
            if idle.count < Self.keep { idle.append(entry) }
        }
    }
}
