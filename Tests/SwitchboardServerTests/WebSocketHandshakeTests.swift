import HTTPTypes
@testable import SwitchboardServer
import Testing

/// ``WebSocketHandshake``: which first requests may take the short way to a WebSocket, and
/// that everything else is left to the full HTTP/1 pipeline (nil), never refused here.
@Suite struct WebSocketHandshakeTests {
    private static func head(_ lines: [String]) -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// What Chromium sends, with a query and an Origin.
    private static let chromium = [
        "GET /v1/ws?topics=a,b HTTP/1.1",
        "Host: 127.0.0.1:8080",
        "Connection: Upgrade",
        "Pragma: no-cache",
        "Upgrade: websocket",
        "Origin: http://127.0.0.1:8080",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol: switchboard.v1.zstd, switchboard.v1",
    ]

    @Test func aBrowsersHandshakeIsTakenWithEveryHeaderButHost() throws {
        let handshake = try #require(WebSocketHandshake(Self.head(Self.chromium)))
        #expect(handshake.target == "/v1/ws?topics=a,b")
        #expect(handshake.host == "127.0.0.1:8080")
        #expect(handshake.key == "dGhlIHNhbXBsZSBub25jZQ==")
        let request = handshake.request
        #expect(request.method == .get)
        #expect(request.authority == "127.0.0.1:8080")
        #expect(request.path == "/v1/ws?topics=a,b")
        #expect(request.headerFields[.origin] == "http://127.0.0.1:8080")
        #expect(request.headerFields[HTTPField.Name("Sec-WebSocket-Protocol")!] == "switchboard.v1.zstd, switchboard.v1")
        #expect(request.headerFields.count == Self.chromium.count - 2)  // less the request line and Host
    }

    @Test func theAnswerCarriesRFC6455sAcceptValueAndTheChosenProtocol() throws {
        // RFC 6455, section 1.3: this key's accept value.
        #expect(WebSocketHandshake.accept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let handshake = try #require(WebSocketHandshake(Self.head(Self.chromium)))
        let answer = String(buffer: handshake.response(subprotocol: "switchboard.v1"))
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(answer.contains("\r\nSec-WebSocket-Protocol: switchboard.v1\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n"))
        #expect(!String(buffer: handshake.response(subprotocol: nil)).contains("Sec-WebSocket-Protocol"))
    }

    @Test func firefoxsKeepAliveUpgradeAndLowercaseNamesAreTaken() {
        var lines = Self.chromium
        lines[2] = "connection: keep-alive, Upgrade"
        lines[4] = "upgrade: WebSocket"
        lines[1] = "host:localhost"
        #expect(WebSocketHandshake(Self.head(lines)) != nil)
        #expect(WebSocketHandshake(Self.head(["GET /v1/ws HTTP/1.1"] + lines.dropFirst())) != nil)
    }

    /// The browser's head changed one way.
    private static func changed(_ change: (inout [String]) -> Void) -> [String] {
        var lines = Self.chromium
        change(&lines)
        return lines
    }

    /// Each of these goes the full way, which answers it as it always did.
    static let unusual: [(String, [String])] = [
        ("another method", changed { $0[0] = "POST /v1/ws HTTP/1.1" }),
        ("HTTP/1.0", changed { $0[0] = "GET /v1/ws HTTP/1.0" }),
        ("another path", changed { $0[0] = "GET /v1/wsx HTTP/1.1" }),
        ("another path below", changed { $0[0] = "GET /v1/ws/x HTTP/1.1" }),
        ("two spaces", changed { $0[0] = "GET  /v1/ws HTTP/1.1" }),
        ("no Host", changed { $0.remove(at: 1) }),
        ("two Hosts", changed { $0.append("Host: other") }),
        ("no key", changed { $0.remove(at: 7) }),
        ("two keys", changed { $0.append("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==") }),
        ("version 8", changed { $0[6] = "Sec-WebSocket-Version: 8" }),
        ("no Upgrade", changed { $0.remove(at: 4) }),
        ("upgrade to h2c", changed { $0[4] = "Upgrade: h2c" }),
        ("Connection without upgrade", changed { $0[2] = "Connection: keep-alive" }),
        ("a body", changed { $0.append("Content-Length: 5") }),
        ("chunked", changed { $0.append("Transfer-Encoding: chunked") }),
        ("a folded line", changed { $0.append(" folded") }),
        ("a space before the colon", changed { $0.append("X-Thing : 1") }),
        ("a line without a colon", changed { $0.append("nonsense") }),
        ("a control byte", changed { $0.append("X-Thing: a\u{1}b") }),
        ("obs-text", changed { $0.append("X-Thing: caf\u{E9}") }),
    ]

    @Test(arguments: unusual)
    func anythingUnusualGoesTheFullWay(_ name: String, _ lines: [String]) {
        #expect(WebSocketHandshake(Self.head(lines)) == nil, "\(name)")
    }

    @Test func aHeadThatIsNotWholeOrHasBytesAfterItGoesTheFullWay() {
        let whole = Self.head(Self.chromium)
        #expect(WebSocketHandshake(whole.dropLast(2)) == nil)  // the head is not finished
        #expect(WebSocketHandshake(whole + Array("x".utf8)) == nil)  // a byte follows it
        #expect(WebSocketHandshake(whole + whole) == nil)  // a second request follows it
        let bareLF = Array((Self.chromium.joined(separator: "\n") + "\n\n").utf8)
        #expect(WebSocketHandshake(bareLF) == nil)
        let loneCR = Array((Self.chromium.joined(separator: "\r\n") + "\rX: y\r\n\r\n").utf8)
        #expect(WebSocketHandshake(loneCR) == nil)
        #expect(WebSocketHandshake(Self.head(Self.chromium + [String(repeating: "X-Pad: 1\r\n", count: 820) + "X-End: 1"])) == nil)  // over 8 KiB
        #expect(WebSocketHandshake([]) == nil)
        #expect(WebSocketHandshake(Array("\r\n\r\n".utf8)) == nil)
    }
}
