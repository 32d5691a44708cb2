import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import SwitchboardCore
import WSClient

/// What a WebSocket client received, in order.
enum Received: Sendable, CustomStringConvertible {
    case control(String)
    case frame(EventFrame.Decoded)

    var description: String {
        switch self {
        case .control(let text): text
        case .frame(let frame): "frame(\(frame.topic) \(frame.events.first!.seq)-\(frame.events.last!.seq)\(frame.compressed ? " zstd" : ""))"
        }
    }
}

/// A real WebSocket client (swift-websocket's `WebSocketClient`) that records everything it receives.
final class TestSubscriber: Sendable {
    private let received = Mutex<[Received]>([])
    private let writer = Mutex<WebSocketOutboundWriter?>(nil)
    private let closeFrame = Mutex<WebSocketCloseFrame??>(nil)
    private let gate = Mutex<(open: Bool, waiter: CheckedContinuation<Void, Never>?)>((true, nil))
    private let task = Mutex<Task<Void, any Error>?>(nil)

    /// Connects to `url` (with extra request `headers`, e.g. `Authorization`); with `reading: false`
    /// it does not read until ``startReading()``.
    init(url: String, protocols: String? = nil, headers: HTTPFields = [:], reading: Bool = true) async throws {
        gate.withLock { $0.open = reading }
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24)
        if let protocols { configuration.additionalHeaders[HTTPField.Name("Sec-WebSocket-Protocol")!] = protocols }
        for field in headers { configuration.additionalHeaders.append(field) }
        var logger = Logger(label: "test-client")
        logger.logLevel = .critical
        let connected = AsyncStream.makeStream(of: Void.self)
        let task = Task { [self] in
            defer { connected.continuation.finish() }
            let frame = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                self.writer.withLock { $0 = outbound }
                connected.continuation.yield()
                await self.waitForGate()
                let decompressor = try ZstdDecompressor()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    let item: Received
                    switch message {
                    case .text(let text):
                        item = .control(text)
                    case .binary(let buffer):
                        item = .frame(try EventFrame.decode(buffer, decompressor: decompressor))
                    }
                    self.received.withLock { $0.append(item) }
                }
            }
            closeFrame.withLock { $0 = .some(frame) }
        }
        self.task.withLock { $0 = task }
        var iterator = connected.stream.makeAsyncIterator()
        if await iterator.next() == nil {
            try await task.value  // rethrows the connection error
            throw CancellationError()
        }
    }

    private func waitForGate() async {
        await withCheckedContinuation { continuation in
            let open = gate.withLock { state in
                if !state.open { state.waiter = continuation }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    /// Lets a client created with `reading: false` read from now on.
    func startReading() {
        let waiter = gate.withLock { state in
            state.open = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Sends a text frame.
    func send(_ text: String) async throws {
        try await writer.withLock { $0 }!.write(.text(text))
    }

    /// Sends a binary frame.
    func sendBinary(_ bytes: [UInt8]) async throws {
        try await writer.withLock { $0 }!.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Closes the connection normally and waits for it to end.
    func close() async throws {
        try? await writer.withLock { $0 }?.close(.normalClosure, reason: nil)
        _ = try? await task.withLock { $0 }?.value
    }

    /// Everything received so far.
    var messages: [Received] { received.withLock { $0 } }

    /// Control messages received so far, as parsed JSON.
    var controls: [[String: Any]] {
        messages.compactMap { message in
            guard case .control(let text) = message else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// Decoded frames received so far.
    var frames: [EventFrame.Decoded] {
        messages.compactMap { if case .frame(let frame) = $0 { frame } else { nil } }
    }

    /// Seqs of events received for `topic`, in arrival order.
    func seqs(_ topic: String) -> [UInt64] {
        frames.filter { $0.topic == topic }.flatMap { $0.events.map(\.seq) }
    }

    /// Control messages of one `type`.
    func controls(type: String) -> [[String: Any]] {
        controls.filter { $0["type"] as? String == type }
    }

    /// Once the connection has ended: the close frame the server sent (nil inside if none).
    var closed: WebSocketCloseFrame?? { closeFrame.withLock { $0 } }
}
