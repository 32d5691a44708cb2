import Crypto
import Foundation
import HTTPTypes
import NIOCore

/// A connection's first request when it is a plain WebSocket handshake on `/v1/ws`, read by
/// hand so that opening a WebSocket skips NIO's HTTP decoder, response encoder and upgrade
/// handler, which cost most of a connect (issue 13, item 9; figures in BENCHMARKS.md).
///
/// It takes only the narrow, well-formed shape every WebSocket client sends: the whole head
/// in the bytes given and nothing after it, `GET /v1/ws… HTTP/1.1`, visible ASCII only, no
/// folded lines, no body headers, one `Host`, `Upgrade: websocket`, a `Connection` that lists
/// `upgrade`, one `Sec-WebSocket-Key` and `Sec-WebSocket-Version: 13`. Anything else is not a
/// refusal but a nil: the connection then goes the full HTTP/1 way (``FirstRequestHandler``),
/// which answers it exactly as before. So this parser never decides what a client gets, only
/// whether the short way may be taken.
struct WebSocketHandshake: Equatable {
    /// The request target, path and query (`/v1/ws?topics=a`).
    var target: String
    /// The `Host` header.
    var host: String
    /// `Sec-WebSocket-Key`.
    var key: String
    /// Every header but the first `Host`, in order, as NIO's conversion to swift-http-types keeps them.
    var fields: HTTPFields

    /// The most bytes a head taken this way may have; a longer one goes the full way.
    static let maxBytes = 8 * 1024
    /// The most header lines taken this way.
    static let maxFields = 64
    private static let requestLinePrefix = Array("GET \(WebSocketEndpoint.path)".utf8)
    private static let requestLineSuffix = Array(" HTTP/1.1".utf8)

    /// Parses `bytes` as a whole request head; nil unless it is a plain handshake.
    init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count <= Self.maxBytes, bytes.count >= 4, bytes.suffix(4).elementsEqual([13, 10, 13, 10]) else { return nil }
        var lines: [ArraySlice<UInt8>] = []
        let array = Array(bytes.dropLast(2))  // each line, the last too, ends with CRLF
        var start = 0
        var index = 0
        while index < array.count {
            let byte = array[index]
            if byte == 13 {
                guard index + 1 < array.count, array[index + 1] == 10 else { return nil }  // a lone CR
                lines.append(array[start..<index])
                index += 2
                start = index
                continue
            }
            // Visible ASCII, space and tab only: no lone LF, no control bytes, no obs-text.
            guard byte == 9 || (32...126).contains(byte) else { return nil }
            index += 1
        }
        guard start == array.count, lines.count >= 2, lines.count <= Self.maxFields + 1 else { return nil }
        guard let target = Self.target(ofRequestLine: lines[0]) else { return nil }

        var fields = HTTPFields()
        var host: String?
        var key: String?
        var upgrade = false, connection = false, version = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let nameBytes = line[line.startIndex..<colon]
            guard let name = HTTPField.Name(String(decoding: nameBytes, as: UTF8.self)) else { return nil }  // also refuses a space before the colon
            let value = String(decoding: Self.trimmed(line[(colon + 1)...]), as: UTF8.self)
            if name.canonicalName == "host" {
                guard host == nil else { return nil }
                host = value
                continue
            }
            switch name {
            case .upgrade:
                guard !upgrade, value.utf8.lazy.map({ $0 | 0x20 }).elementsEqual("websocket".utf8) else { return nil }
                upgrade = true
            case .connection:
                guard !connection, Self.listsUpgrade(value) else { return nil }
                connection = true
            case .secWebSocketKey:
                guard key == nil, !value.isEmpty else { return nil }
                key = value
            case .secWebSocketVersion:
                guard !version, value == "13" else { return nil }
                version = true
            case .contentLength, .transferEncoding:
                return nil
            default:
                break
            }
            fields.append(HTTPField(name: name, value: value))
        }
        guard let host, let key, upgrade, connection, version else { return nil }
        self.target = target
        self.host = host
        self.key = key
        self.fields = fields
    }

    /// The request as the endpoint's checks read it (the same as NIO's head converted).
    var request: HTTPRequest {
        HTTPRequest(method: .get, scheme: "http", authority: host, path: target, headerFields: fields)
    }

    /// The `101 Switching Protocols` answer, with `subprotocol` when one was chosen and
    /// `extensions` (the `Sec-WebSocket-Extensions` value) when one was accepted.
    func response(subprotocol: String?, extensions: String? = nil) -> ByteBuffer {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: \(Self.accept(key: key))\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let extensions { text += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        text += "\r\n"
        return ByteBuffer(string: text)
    }

    /// `Sec-WebSocket-Accept` for a key (RFC 6455, section 4.2.2).
    static func accept(key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }

    /// The target of `GET <target> HTTP/1.1` when it is `/v1/ws` with or without a query.
    private static func target(ofRequestLine line: ArraySlice<UInt8>) -> String? {
        let (prefix, suffix, path) = (requestLinePrefix, requestLineSuffix, WebSocketEndpoint.path.utf8.count)
        guard line.count >= prefix.count + suffix.count, line.prefix(prefix.count).elementsEqual(prefix), line.suffix(suffix.count).elementsEqual(suffix) else { return nil }
        let target = line.dropFirst(4).dropLast(suffix.count)
        // Exactly the path, or the path and `?…`, with no space or tab inside.
        guard target.count == path || target[target.startIndex + path] == UInt8(ascii: "?"), !target.contains(32), !target.contains(9) else { return nil }
        return String(decoding: target, as: UTF8.self)
    }

    /// Whether a `Connection` value lists the `upgrade` token.
    private static func listsUpgrade(_ value: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: ",")).contains { token in
            trimmed(ArraySlice(token)).lazy.map { $0 | 0x20 }.elementsEqual("upgrade".utf8)
        }
    }

    /// `bytes` without leading and trailing spaces and tabs.
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 32 || byte == 9 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }
}
