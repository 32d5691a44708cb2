import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One message of a `text/event-stream`.
struct SSEMessage: Sendable, Equatable {
    var id: String?
    var event: String
    var data: String

    /// `data` parsed as a JSON object.
    var json: [String: Any] { parseJSON(data) }
}

/// A streaming HTTP client for server-sent events over a real socket (swift-nio), recording
/// the body as it arrives; the test HTTP client only returns whole responses.
final class SSEClient: Sendable {
    private struct State {
        var status: Int?
        var headers: [(String, String)] = []
        var body = ""
        var ended = false
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let channel: any Channel

    /// Connects to 127.0.0.1:`port` and sends `GET path` with `headers`.
    init(port: Int, path: String, headers: [(String, String)] = []) async throws {
        let shared = self.shared
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Recorder(shared: shared))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    }

    /// The response status, once the head arrived.
    var status: Int? { shared.state.withLock { $0.status } }
    /// The value of a response header.
    func header(_ name: String) -> String? {
        shared.state.withLock { $0.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }
    /// The body received so far.
    var body: String { shared.state.withLock { $0.body } }
    /// Whether the server ended the response.
    var ended: Bool { shared.state.withLock { $0.ended } }

    /// The complete messages received so far (comments and blank blocks left out).
    var messages: [SSEMessage] {
        let blocks = body.components(separatedBy: "\n\n").dropLast()  // the last block may be incomplete
        return blocks.compactMap { block in
            var message = SSEMessage(id: nil, event: "message", data: "")
            var dataLines: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix(":") { continue }
                let (field, value) = line.firstIndex(of: ":").map { (String(line[..<$0]), String(line[line.index(after: $0)...].drop { $0 == " " })) } ?? (String(line), "")
                switch field {
                case "id": message.id = value
                case "event": message.event = value
                case "data": dataLines.append(value)
                default: break
                }
            }
            guard !dataLines.isEmpty else { return nil }
            message.data = dataLines.joined(separator: "\n")
            return message
        }
    }

    /// Closes the connection.
    func close() async {
        try? await channel.close().get()
    }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let shared: Shared
        init(shared: Shared) { self.shared = shared }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let part = unwrapInboundIn(data)
            shared.state.withLock { state in
                switch part {
                case .head(let head):
                    state.status = Int(head.status.code)
                    state.headers = head.headers.map { ($0.name, $0.value) }
                case .body(let buffer):
                    state.body += String(buffer: buffer)
                case .end:
                    state.ended = true
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            shared.state.withLock { $0.ended = true }
        }
    }
}
