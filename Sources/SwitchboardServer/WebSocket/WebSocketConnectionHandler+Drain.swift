import NIOCore
import NIOWebSocket
import SwitchboardCore

extension WebSocketConnectionHandler {
    /// Writes everything the subscriber queued and flushes once; runs on the event loop when
    /// the subscriber asks for a drain.
    ///
    /// The fan-out's hot path: the shared, already encoded frames are written as they are
    /// (nothing copied), one flush per drain. The next drain starts only once the socket took
    /// the last write, so a slow reader's frames pile up in its bounded queue, where the
    /// slow-consumer policy applies. A queued close is sent after everything before it.
    func drain() {
        guard let context else { return }
        let subscriber = session.subscriber
        guard let items = subscriber.takeForDrain() else { return }
        // After a close nothing more may be sent; the drain stays open so none is asked for again.
        guard !closeSent else { return }
        var tally = DrainTally()
        var frames: [WebSocketFrame] = []
        frames.reserveCapacity(items.count)
        var close: (code: UInt16, reason: String)?
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
                close = (code, reason)
            }
        }
        tally.record(in: metrics)
        guard let last = frames.popLast() else {
            if let close { sendClose(code: close.code, reason: close.reason) }
            return
        }
        for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(last), promise: written)
        written.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                if let close {
                    self.sendClose(code: close.code, reason: close.reason)
                } else if subscriber.endDrain() {
                    // More arrived while these were written: go round the loop again rather than
                    // recurse, so other channels on this loop get their turn.
                    let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                    context.eventLoop.execute { bound.value.drain() }
                }
            case .failure:
                // The channel is gone; channelInactive cleans up.
                subscriber.finish()
            }
        }
    }
}

/// What one drain wrote, recorded in the metrics once per drain rather than per frame.
struct DrainTally {
    /// Bytes sent uncompressed (control messages and plain frames).
    var plainBytes = 0
    /// Bytes sent as zstd frames.
    var zstdBytes = 0
    /// All bytes before compression.
    var uncompressedBytes = 0
    /// Events in the frames.
    var events = 0

    /// Counts `frame` and returns the bytes to send for it.
    mutating func add(_ frame: EncodedFrame, zstd: Bool) -> ByteBuffer {
        let bytes = frame.bytes(zstd: zstd)
        if zstd && frame.compressed != nil { zstdBytes += bytes.readableBytes } else { plainBytes += bytes.readableBytes }
        uncompressedBytes += frame.plain.readableBytes
        events += Int(frame.lastSeq - frame.firstSeq + 1)
        return bytes
    }

    /// Records the totals.
    func record(in metrics: BrokerMetrics) {
        if plainBytes > 0 { metrics.sent(transport: .ws, encoding: .identity, bytes: plainBytes, uncompressedBytes: plainBytes) }
        if zstdBytes > 0 { metrics.sent(transport: .ws, encoding: .zstd, bytes: zstdBytes, uncompressedBytes: uncompressedBytes - plainBytes) }
        metrics.delivered(transport: .ws, events: events)
    }
}
