import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import SwitchboardCore
import WSClient
import WSCompression

/// A WebSocket subscriber that counts events, checks their order, and records latency samples.
final class CountingSubscriber: Sendable {
    struct Tally {
        var events = 0
        var frames = 0
        var lastSeq: UInt64 = 0
        var outOfOrder = 0
        var gaps = 0
        var subscribed = false
        var latencies: [Int64] = []
    }

    let tally = Mutex(Tally())
    private let writer = Mutex<WebSocketOutboundWriter?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    let target: Target
    let recordLatency: Bool

    init(target: Target, recordLatency: Bool) {
        self.target = target
        self.recordLatency = recordLatency
    }

    /// Connects and returns once the connection is open.
    func connect(url: String, compression: Compression) async throws {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, autoPing: .disabled)
        if compression == .deflate {
            configuration.extensions = [WebSocketExtensionFactory.perMessageDeflate(noContextTakeover: true, maxDecompressedFrameSize: 1 << 24, minFrameSizeToCompress: 1 << 30).build()]
        }
        var logger = Logger(label: "bench-subscriber")
        logger.logLevel = .critical
        let opened = AsyncStream.makeStream(of: Void.self)
        let task = Task { [self] in
            defer { opened.continuation.finish() }
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                self.writer.withLock { $0 = outbound }
                if self.target == .nchan { self.tally.withLock { $0.subscribed = true } }
                opened.continuation.yield()
                let decompressor = try ZstdDecompressor()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    switch message {
                    case .text(let text):
                        if self.target == .switchboard {
                            if text.contains("\"subscribed\"") { self.tally.withLock { $0.subscribed = true } }
                            if text.contains("\"gap\"") { self.tally.withLock { $0.gaps += 1 } }
                        } else {
                            self.count(payloads: [ByteBuffer(string: text)], firstSeq: nil)
                        }
                    case .binary(let buffer):
                        if self.target == .switchboard {
                            let frame = try EventFrame.decode(buffer, decompressor: decompressor)
                            self.count(payloads: frame.events.map(\.payload), firstSeq: frame.events[0].seq)
                        } else {
                            self.count(payloads: [buffer], firstSeq: nil)
                        }
                    }
                }
            }
        }
        self.task.withLock { $0 = task }
        var iterator = opened.stream.makeAsyncIterator()
        if await iterator.next() == nil {
            try await task.value
            throw CancellationError()
        }
    }

    private func count(payloads: [ByteBuffer], firstSeq: UInt64?) {
        let received = nowMicros()
        let latencies: [Int64] = recordLatency ? payloads.compactMap { Self.sentAt($0).map { received - $0 } } : []
        tally.withLock { tally in
            tally.frames += 1
            tally.events += payloads.count
            if let firstSeq {
                if firstSeq != tally.lastSeq + 1, tally.lastSeq != 0 { tally.outOfOrder += 1 }
                tally.lastSeq = firstSeq + UInt64(payloads.count) - 1
            }
            tally.latencies += latencies
        }
    }

    /// The `"ts":<µs>` the generator embedded in the payload.
    static func sentAt(_ payload: ByteBuffer) -> Int64? {
        guard let text = payload.getString(at: payload.readerIndex, length: min(payload.readableBytes, 200)),
            let range = text.range(of: "\"ts\":")
        else { return nil }
        return Int64(text[range.upperBound...].prefix { $0.isNumber })
    }

    func close() async {
        try? await writer.withLock { $0 }?.close(.normalClosure, reason: nil)
        _ = try? await task.withLock { $0 }?.value
    }
}
