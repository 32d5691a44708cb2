import Logging
import NIOCore
import NIOWebSocket
import SwitchboardCore

/// One upgraded WebSocket connection, run by a NIO channel handler on its event loop.
///
/// Written against NIO's frame codec rather than swift-websocket's handler: that handler keeps
/// an actor, a task group and a ping task alive per connection (about 28 KiB of task memory
/// per idle subscriber, measured with heaptrack) and costs an actor hop per written frame. Here
/// an idle connection holds no task at all: frames are written by ``drain()`` straight from the
/// subscriber's queue, pings are a timer on the loop, and requests go to the
/// ``WebSocketSession``, which runs a task only while requests are pending.
///
/// The protocol duties it takes on (RFC 6455): masked client frames only, no reserved bits but
/// RSV1 on the first frame of a compressed message when permessage-deflate was negotiated
/// (RFC 7692; inflated up to the frame limit, 1009 beyond, 1007 for bad deflate data),
/// fragmented messages reassembled up to the frame limit (1009 beyond), text must be UTF-8
/// (1007), pings answered, a close answered with the same code and the connection closed, a
/// close it sends followed by at most ``closeWait`` for the client's answer, and a ping every
/// interval that must be answered before the next (else the connection is dropped).
final class WebSocketConnectionHandler: ChannelInboundHandler, RemovableChannelHandler, LoopWakeable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long to wait for the client's answer to a close the broker sent.
    static let closeWait: TimeAmount = .seconds(5)
    /// The reason text of a 1009 close (a client message over the limit).
    static let tooBigReason = "message too big"
    /// Requests queued before the handler stops reading the socket until they are handled.
    static let maxPendingRequests = 16

    let session: WebSocketSession
    let metrics: BrokerMetrics
    private let maxMessageBytes: Int
    private let pingInterval: TimeAmount

    var context: ChannelHandlerContext?
    /// NIO's frame encoder (added by its upgrader before this handler): finished messages are
    /// written below it, skipping a second framing.
    var encoderContext: ChannelHandlerContext?
    /// How a drain of this connection is asked for: one entry in its loop's batch of wake-ups.
    var drainWakeup: (wakeups: LoopWakeups, wakeup: LoopWakeups.Wakeup)?
    /// A fragmented message being reassembled, and whether it is compressed (permessage-deflate).
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer, compressed: Bool)?
    /// A close was sent: nothing but the close answer is expected now.
    private(set) var closeSent = false
    private var awaitingPong = false
    private var readingPaused = false
    private var ended = false
    private var timers: [Scheduled<Void>] = []
    private var pings: RepeatedTask?

    init(session: WebSocketSession, metrics: BrokerMetrics, maxMessageBytes: Int, pingInterval: TimeAmount) {
        self.session = session
        self.metrics = metrics
        self.maxMessageBytes = maxMessageBytes
        self.pingInterval = pingInterval
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        session.opened(whenIdle: { eventLoop.execute { bound.value.resumeReading() } })
        // Drains of this loop's connections after a fan-out pass run in one loop task.
        let wakeups = LoopWakeups.of(eventLoop)
        let wakeup = LoopWakeups.Wakeup(handler: NIOLoopBound(self as any LoopWakeable, eventLoop: eventLoop), generation: 0)
        drainWakeup = (wakeups, wakeup)
        let drainNow = session.subscriber.startDrainingHere { wakeups.post(wakeup) }
        pings = eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in bound.value.ping() }
        // A token with `exp` ends the connection when it expires (close 1008).
        if let timeLeft = session.principal.timeToExpiry {
            let subscriber = session.subscriber
            timers.append(eventLoop.scheduleTask(in: TimeAmount(timeLeft)) { subscriber.close(code: 1008, reason: "credentials expired") })
        }
        // What the upgrade's subscriptions queued (`subscribed`) is written now, behind the 101.
        if drainNow { drain() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        self.context = nil
        encoderContext = nil
        drainWakeup = nil
    }

    private func end() {
        guard !ended else { return }
        ended = true
        pings?.cancel()
        for timer in timers { timer.cancel() }
        session.closed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Hummingbird allows half-closure: a client that closed its side is gone for good.
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame the decoder refused (over the limit: 1009) is answered here with a reason text,
        // unless NIO's protocol error handler is in the pipeline (the upgrader's
        // `automaticErrorHandling`): it has already answered, with the code alone.
        if let error = error as? NIOWebSocketError, !closeSent,
            (try? context.pipeline.syncOperations.handler(type: WebSocketProtocolErrorHandler.self)) == nil
        {
            return closeAfterDecodingError(error, context: context)
        }
        session.logger.debug("WebSocket error", metadata: ["connection": "\(session.subscriber.id)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RSV1 marks a compressed message (RFC 7692 §6): only on a message's first frame, and
        // only when permessage-deflate was negotiated.
        let compressedStart = frame.rsv1 && session.subscriber.deflate && (frame.opcode == .text || frame.opcode == .binary)
        guard frame.maskKey != nil, !frame.rsv1 || compressedStart, !frame.rsv2, !frame.rsv3 else {
            return fail(.protocolError, "client frames must be masked and use no reserved bits")
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "a new message began before the last one ended") }
            if frame.fin {
                message(frame.opcode, frame.unmaskedData, compressed: compressedStart)
            } else {
                fragments = (frame.opcode, frame.unmaskedData, compressedStart)
            }
        case .continuation:
            guard let (opcode, first, compressed) = fragments else { return fail(.protocolError, "continuation without a message") }
            var data = first
            var more = frame.unmaskedData
            guard data.readableBytes + more.readableBytes <= maxMessageBytes else { return fail(.messageTooLarge, Self.tooBigReason) }
            data.writeBuffer(&more)
            fragments = frame.fin ? nil : (opcode, data, compressed)
            if frame.fin { message(opcode, data, compressed: compressed) }
        case .ping:
            guard frame.fin, !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            awaitingPong = false
        case .connectionClose:
            received(close: frame, context: context)
        default:
            fail(.protocolError, "unknown opcode")
        }
    }

    private func message(_ opcode: WebSocketOpcode, _ received: ByteBuffer, compressed: Bool) {
        var data = received
        if compressed {
            switch PerMessageDeflate.inflate(received, limit: maxMessageBytes) {
            case .message(let inflated): data = inflated
            case .tooBig: return fail(.messageTooLarge, Self.tooBigReason)
            case .invalid: return fail(.dataInconsistentWithMessage, "compressed message is not valid deflate data")
            }
        }
        if opcode == .text {
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
                return fail(.dataInconsistentWithMessage, "text frames must be UTF-8")
            }
            session.received(text)
        } else {
            session.receivedBinary()
        }
        if session.pendingRequests >= Self.maxPendingRequests, !readingPaused, let context {
            // Handle what was sent before reading more: backpressure instead of an unbounded queue.
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    private func resumeReading() {
        guard readingPaused, let context else { return }
        readingPaused = false
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        context.read()
    }

    /// A drain was asked for.
    func woken(_ generation: UInt64) {
        drain()
    }

    // MARK: Closing and pings

    /// Sends a close with `code` and waits at most ``closeWait`` for the client's answer.
    func sendClose(code: UInt16, reason: String) {
        guard !closeSent, let context else { return }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2 + min(reason.utf8.count, 123))
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
        data.writeBytes(reason.utf8.prefix(123))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timers.append(context.eventLoop.scheduleTask(in: Self.closeWait) { bound.value.context?.close(promise: nil) })
    }

    private func received(close frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard !closeSent else {
            // The answer to our close: the handshake is complete.
            context.close(promise: nil)
            return
        }
        closeSent = true
        var data = frame.unmaskedData
        let code = data.readWebSocketErrorCode() ?? .normalClosure
        var answer = context.channel.allocator.buffer(capacity: 2)
        answer.write(webSocketErrorCode: code)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer)))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Sends the close for a frame the decoder refused, then closes: the decoder reads no more,
    /// so the client's answer would never be seen.
    private func closeAfterDecodingError(_ error: NIOWebSocketError, context: ChannelHandlerContext) {
        let (code, reason): (WebSocketErrorCode, String) = switch error {
        case .invalidFrameLength: (.messageTooLarge, Self.tooBigReason)
        case .fragmentedControlFrame: (.protocolError, "control frames must not be fragmented")
        case .multiByteControlFrameLength: (.protocolError, "control frames carry at most 125 bytes")
        }
        session.logger.debug("WebSocket frame refused", metadata: ["connection": "\(session.subscriber.id)", "reason": "\(reason)"])
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Closes with `code` after a protocol error by the client.
    private func fail(_ code: WebSocketErrorCode, _ reason: String) {
        session.logger.debug("WebSocket protocol error", metadata: ["connection": "\(session.subscriber.id)", "reason": "\(reason)"])
        fragments = nil
        sendClose(code: UInt16(webSocketErrorCode: code), reason: reason)
    }

    private func ping() {
        guard let context, !closeSent else { return }
        if awaitingPong {
            session.logger.info("WebSocket ping unanswered", metadata: ["connection": "\(session.subscriber.id)", "remote": "\(session.remote)"])
            context.close(promise: nil)
            return
        }
        awaitingPong = true
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
    }
}
