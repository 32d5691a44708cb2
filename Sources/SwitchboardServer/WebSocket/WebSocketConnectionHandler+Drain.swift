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
        guard let context, let encoderContext else { return }
        let subscriber = session.subscriber
        guard let items = subscriber.takeForDrain() else { return }
        // After a close nothing more may be sent; the drain stays open so none is asked for again.
        guard !closeSent else { return }
        var tally = DrainTally()
        var frames: [Outbound] = []
        frames.reserveCapacity(items.count)
        var close: (code: UInt16, reason: String)?
        var now: Int64?
        for item in items {
            switch item {
            case .control(_, let rendered):
                tally.plainBytes += rendered.readableBytes
                tally.uncompressedBytes += rendered.readableBytes
                frames.append(.frame(WebSocketFrame(fin: true, opcode: .text, data: rendered)))
            case .events(let frame):
                if let ts = frame.firstTimestamp {
                    let time = now ?? WallClock.micros()
                    now = time
                    metrics.latency(transport: .ws, publishedAt: ts, now: time)
                }
                if subscriber.deflate, let deflated = frame.webSocketDeflated(PerMessageDeflate.deflate) {
                    tally.add(frame, deflated: deflated)
                    frames.append(.message(deflated))
                } else {
                    tally.add(frame, zstd: subscriber.zstd)
                    frames.append(.message(frame.webSocketMessage(zstd: subscriber.zstd)))
                }
            case .close(let code, let reason):
                close = (code, reason)
            }
        }
        tally.record(in: metrics)
        guard let last = frames.popLast() else {
            if let close { sendClose(code: close.code, reason: close.reason) }
            return
        }
        for frame in frames { write(frame, context: context, below: encoderContext, promise: nil) }
        let written = context.eventLoop.makePromise(of: Void.self)
        write(last, context: context, below: encoderContext, promise: written)
        context.flush()
        written.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                if let close {
                    self.sendClose(code: close.code, reason: close.reason)
                } else if subscriber.endDrain(), let (wakeups, wakeup) = self.drainWakeup {
                    // More arrived while these were written: queue another drain with this loop's
                    // next batch rather than recurse, so other channels get their turn.
                    wakeups.post(wakeup)
                }
            case .failure:
                // The channel is gone; channelInactive cleans up.
                subscriber.finish()
            }
        }
    }
}

extension WebSocketConnectionHandler {
    /// Something a drain writes.
    enum Outbound {
        /// A frame for NIO's encoder (control messages as text).
        case frame(WebSocketFrame)
        /// A finished WebSocket message, shared by every subscriber of the frame.
        case message(ByteBuffer)
    }

    /// Writes `item`: frames through the encoder from `context`, finished messages from
    /// `below` the encoder; both land in the channel's writes in call order.
    func write(_ item: Outbound, context: ChannelHandlerContext, below: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch item {
        case .frame(let frame): context.write(wrapOutboundOut(frame), promise: promise)
        case .message(let bytes): below.write(NIOAny(bytes), promise: promise)
        }
    }
}

/// What one drain wrote, recorded in the metrics once per drain rather than per frame.
struct DrainTally {
    /// Bytes sent uncompressed (control messages and plain frames).
    var plainBytes = 0
    /// Bytes sent as zstd frames.
    var zstdBytes = 0
    /// Payload bytes sent as permessage-deflate messages.
    var deflateBytes = 0
    /// The same messages' payload bytes before compression.
    var deflateUncompressedBytes = 0
    /// All bytes before compression.
    var uncompressedBytes = 0
    /// Events in the frames.
    var events = 0

    /// Counts `frame` as sent to a connection that negotiated `zstd` or not.
    mutating func add(_ frame: EncodedFrame, zstd: Bool) {
        let bytes = frame.bytes(zstd: zstd).readableBytes
        if zstd && frame.compressed != nil { zstdBytes += bytes } else { plainBytes += bytes }
        uncompressedBytes += frame.plain.readableBytes
        events += Int(frame.lastSeq - frame.firstSeq + 1)
    }

    /// Counts `frame` as sent deflated, as the finished message `deflated`.
    mutating func add(_ frame: EncodedFrame, deflated: ByteBuffer) {
        let length = (deflated.getInteger(at: deflated.readerIndex + 1, as: UInt8.self) ?? 0) & 0x7F
        let header = length < 126 ? 2 : (length == 126 ? 4 : 10)  // RFC 6455 §5.2: 7, 16 or 64-bit length
        deflateBytes += deflated.readableBytes - header
        deflateUncompressedBytes += frame.plain.readableBytes
        events += Int(frame.lastSeq - frame.firstSeq + 1)
    }

    /// Records the totals.
    func record(in metrics: BrokerMetrics) {
        if plainBytes > 0 { metrics.sent(transport: .ws, encoding: .identity, bytes: plainBytes, uncompressedBytes: plainBytes) }
        if zstdBytes > 0 { metrics.sent(transport: .ws, encoding: .zstd, bytes: zstdBytes, uncompressedBytes: uncompressedBytes - plainBytes) }
        if deflateBytes > 0 { metrics.sent(transport: .ws, encoding: .deflate, bytes: deflateBytes, uncompressedBytes: deflateUncompressedBytes) }
        metrics.delivered(transport: .ws, events: events)
    }
}
