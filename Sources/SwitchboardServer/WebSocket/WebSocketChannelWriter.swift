import NIOCore
import NIOWebSocket
import SwitchboardCore

/// Writes a subscriber's queue straight to its WebSocket channel, on the channel's event loop.
///
/// The fan-out's hot path: when a pass queues frames, the subscriber asks for a drain; the
/// drain runs on the event loop, writes every queued item as a WebSocket frame (the shared,
/// already encoded bytes; nothing copied) and flushes once. The next drain starts only when
/// the socket took the last write, so a slow reader's items pile up in its bounded queue,
/// where the slow-consumer policy applies. No Swift task and no actor hop per frame:
/// `WebSocketOutboundWriter.write` costs both per frame, which dominated the fan-out profile.
///
/// A queued close is not written here: it is handed to ``closeRequests`` after everything
/// before it is flushed, and the session closes through the WebSocket handler, which runs
/// the close handshake.
final class WebSocketChannelWriter: Sendable {
    /// A close the queue asked for.
    struct CloseRequest: Sendable {
        /// The close code.
        var code: UInt16
        /// The close reason.
        var reason: String
    }

    /// Yields the queued close once its preceding frames are flushed; finishes when the channel fails.
    let closeRequests: AsyncStream<CloseRequest>
    private let closeContinuation: AsyncStream<CloseRequest>.Continuation
    private let channel: any Channel
    private let subscriber: Subscriber
    private let metrics: BrokerMetrics

    init(channel: any Channel, subscriber: Subscriber, metrics: BrokerMetrics) {
        self.channel = channel
        self.subscriber = subscriber
        self.metrics = metrics
        (closeRequests, closeContinuation) = AsyncStream.makeStream(of: CloseRequest.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts draining: from now on every item the subscriber queues is written.
    func start() {
        let eventLoop = channel.eventLoop
        subscriber.startDraining { [self] in
            eventLoop.execute { self.drain() }
        }
    }

    /// Writes everything queued and flushes once; runs on the channel's event loop.
    private func drain() {
        guard let items = subscriber.takeForDrain() else { return }
        var tally = Tally()
        var frames: [WebSocketFrame] = []
        frames.reserveCapacity(items.count)
        var close: CloseRequest?
        var now: Int64?
        for item in items {
            switch item {
            case .control(_, let rendered):
                tally.plainBytes += rendered.readableBytes
                tally.uncompressedBytes += rendered.readableBytes
                frames.append(WebSocketFrame(fin: true, opcode: .text, data: rendered))
            case .events(let frame):
                if let ts = frame.firstTimestamp {
                    let time = now ?? WallClock.micros()
                    now = time
                    metrics.latency(transport: .ws, publishedAt: ts, now: time)
                }
                frames.append(WebSocketFrame(fin: true, opcode: .binary, data: tally.add(frame, zstd: subscriber.zstd)))
            case .close(let code, let reason):
                close = CloseRequest(code: code, reason: reason)
            }
        }
        tally.record(in: metrics)
        let closeAfter = close
        guard let last = frames.popLast() else {
            if let closeAfter { closeContinuation.yield(closeAfter) }
            return
        }
        for frame in frames { channel.write(frame, promise: nil) }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(last, promise: written)
        written.futureResult.whenComplete { [self] result in
            switch result {
            case .success:
                if let closeAfter {
                    closeContinuation.yield(closeAfter)
                } else if subscriber.endDrain() {
                    // More arrived while these were written; go round the loop again rather
                    // than recurse, so other channels on this loop get their turn.
                    channel.eventLoop.execute { self.drain() }
                }
            case .failure:
                // The channel is gone; the session sees its inbound end and cleans up.
                subscriber.finish()
                closeContinuation.finish()
            }
        }
    }

    /// What one drain wrote, recorded in the metrics once per drain.
    private struct Tally {
        var plainBytes = 0
        var zstdBytes = 0
        var uncompressedBytes = 0
        var events = 0

        /// Counts `frame` and returns the bytes to send for it.
        mutating func add(_ frame: EncodedFrame, zstd: Bool) -> ByteBuffer {
            let bytes = frame.bytes(zstd: zstd)
            if zstd && frame.compressed != nil { zstdBytes += bytes.readableBytes } else { plainBytes += bytes.readableBytes }
            uncompressedBytes += frame.plain.readableBytes
            events += Int(frame.lastSeq - frame.firstSeq + 1)
            return bytes
        }

        func record(in metrics: BrokerMetrics) {
            if plainBytes > 0 { metrics.sent(transport: .ws, encoding: .identity, bytes: plainBytes, uncompressedBytes: plainBytes) }
            if zstdBytes > 0 { metrics.sent(transport: .ws, encoding: .zstd, bytes: zstdBytes, uncompressedBytes: uncompressedBytes - plainBytes) }
            metrics.delivered(transport: .ws, events: events)
        }
    }
}
