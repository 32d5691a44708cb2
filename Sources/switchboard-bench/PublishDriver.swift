import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// Publishers on keep-alive HTTP/1.1 connections, all on the bench's event loop. Each
/// connection has at most one request in flight. At `rate` 0 each sends its next event when
/// the previous one was answered, as fast as that goes. At a fixed rate the schedule is open
/// loop: every event that falls due goes out on any idle connection, whatever the answers to
/// earlier ones, so `publishers` is the most publishes in flight; only when all are busy does
/// an event wait (`maxBacklog`). Each payload is stamped with its publisher and that
/// publisher's number, so subscribers can check the order.
final class PublishDriver {
    /// What to publish, where, and how fast.
    struct Plan: Sendable {
        /// Whose publish URL to use.
        var target: Target
        /// Where the broker listens.
        var host: String, port: Int
        /// `Host` header value.
        var authority: String { "\(host):\(port)" }
        /// The topic (channel) to publish to.
        var topic: String
        /// Which payloads.
        var stream: Stream
        /// Keep-alive connections: the most publishes in flight.
        var publishers: Int
        /// Events per second over all connections; 0 means as fast as they are answered.
        var rate: Int
        /// Events to publish; with `duration` > 0 and rate 0, publishing stops at the deadline instead.
        var events: Int
        /// Seconds to publish for (rate 0), or 0 to stop after `events`.
        var duration: Double
    }

    /// What the publishers did, safe to carry off the event loop.
    struct Counts: Sendable {
        /// Events the broker accepted (2xx).
        var acked = 0
        /// Answers that were not 2xx, or connections lost mid-request.
        var errors = 0
        /// Most events waiting for a free connection at once (fixed rate only).
        var maxBacklog = 0
        /// Publisher connections the broker closed and the driver opened again.
        var reconnects = 0
        /// Request → answer time of each publish, µs.
        var answerTime = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        /// Most publishes in flight at once.
        var maxInFlight = 0
        /// Fixed rate: how late each event was sent after it was due, µs.
        var sendLag = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        /// When the first and the last request were sent and the last answer came, µs since the Unix epoch.
        var firstSend: Int64 = 0, lastSend: Int64 = 0, lastAnswer: Int64 = 0

        /// Events per second the requests actually went out at: between the first and the last
        /// send (the schedule spaces `acked` events `acked − 1` intervals apart), or nil for one event.
        var sendRate: Double? {
            guard acked > 1, lastSend > firstSend else { return nil }
            return Double(acked - 1) * 1e6 / Double(lastSend - firstSend)
        }
    }

    private final class Connection {
        let index: Int
        var channel: (any Channel)?
        var nextNumber = 1
        var busy = false
        var sentAt: Int64 = 0
        init(index: Int) { self.index = index }
    }

    private let plan: Plan
    private let loop: any EventLoop
    private var generator: PayloadGenerator
    private var connections: [Connection]
    private var issued = 0, backlog = 0, due = 0, inFlight = 0
    private var stopped = false
    private var started = NIODeadline.now()
    /// Wall-clock µs at `started`, so the i-th due event's intended send time is known.
    private var startedWall: Int64 = 0
    /// The wake-up for the next due event (fixed rate).
    private var timer: Scheduled<Void>?
    private(set) var counts = Counts()
    /// Completes once publishing stopped and every request was answered.
    let done: EventLoopPromise<Void>

    /// A driver for `plan` on `loop`; call `connect` then `start`.
    init(plan: Plan, loop: any EventLoop) {
        self.plan = plan
        self.loop = loop
        generator = plan.stream.makeGenerator()
        connections = (0..<plan.publishers).map { Connection(index: $0) }
        done = loop.makePromise()
    }

    /// Opens the publisher connections.
    static func connect(_ driver: NIOLoopBound<PublishDriver>, plan: Plan, loop: any EventLoop) async throws {
        for index in 0..<plan.publishers {
            let channel = try await bootstrap(driver, index: index, loop: loop).connect(host: plan.host, port: plan.port).get()
            try await loop.submit { driver.value.connections[index].channel = channel }.get()
        }
    }

    private static func bootstrap(_ driver: NIOLoopBound<PublishDriver>, index: Int, loop: any EventLoop) -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PublishAnswerHandler(driver: driver.value, index: index))
                }
            }
    }

    /// Starts publishing (on the event loop).
    func start() {
        started = .now()
        startedWall = nowMicros()
        if plan.rate == 0 {
            for connection in connections { sendNext(on: connection) }
            return
        }
        tick()
    }

    /// Closes the connections.
    func close() {
        stopped = true
        timer?.cancel()
        for connection in connections { connection.channel?.close(promise: nil) }
    }

    private var total: Int { plan.rate > 0 && plan.duration > 0 ? Int(Double(plan.rate) * plan.duration) : plan.events }

    /// Fixed rate: releases every event that is due by now, then sleeps until the next one is
    /// due (its own deadline, so no event waits for a coarser tick).
    private func tick() {
        let elapsed = (NIODeadline.now() - started).nanoseconds
        while due < total, dueOffset(due) <= elapsed {
            due += 1
            if let idle = connections.first(where: { !$0.busy && $0.channel != nil }) {
                sendNext(on: idle)
            } else {
                backlog += 1
                counts.maxBacklog = max(counts.maxBacklog, backlog)
            }
        }
        guard due < total, !stopped else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        timer = loop.scheduleTask(deadline: started + .nanoseconds(dueOffset(due))) { bound.value.tick() }
    }

    /// Nanoseconds after the start that event `index` (from 0) is due.
    private func dueOffset(_ index: Int) -> Int64 { Int64(index) * 1_000_000_000 / Int64(plan.rate) }

    private var mayPublish: Bool {
        if stopped { return false }
        if plan.rate == 0, plan.duration > 0 { return NIODeadline.now() - started < .nanoseconds(Int64(plan.duration * 1e9)) }
        return issued < total
    }

    private func sendNext(on connection: Connection) {
        guard mayPublish, let channel = connection.channel else { return finishIfIdle() }
        let now = nowMicros()
        if counts.firstSend == 0 { counts.firstSend = now }
        // At a fixed rate the stamp is when the event was due, not when a connection was free to
        // send it: a broker that answers publishes late is not spared the wait (coordinated omission).
        let dueAt = startedWall + Int64(issued) * 1_000_000 / Int64(max(plan.rate, 1))
        let stamp = plan.rate > 0 ? min(now, dueAt) : now
        if plan.rate > 0 { counts.sendLag.record(UInt64(max(1, now - dueAt))) }
        counts.lastSend = now
        inFlight += 1
        counts.maxInFlight = max(counts.maxInFlight, inFlight)
        let payload = generator.next(publisher: connection.index, number: connection.nextNumber, sentAt: stamp)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: plan.target.publishPath(plan.topic))
        head.headers.add(name: "Host", value: plan.authority)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(payload.utf8.count))
        connection.busy = true
        connection.sentAt = now
        issued += 1
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: payload))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// The answer to connection `index`'s request arrived with `status`.
    func answered(index: Int, status: UInt) {
        let connection = connections[index]
        guard connection.busy else { return }
        connection.busy = false
        inFlight -= 1
        counts.lastAnswer = nowMicros()
        counts.answerTime.record(UInt64(max(1, counts.lastAnswer - connection.sentAt)))
        if (200..<300).contains(status) {
            counts.acked += 1
            connection.nextNumber += 1  // a refused event's number is used again, so subscribers see no hole
        } else {
            refused()
        }
        resume(connection)
    }

    /// Connection `index` closed: its request (if any) counts as refused; it is opened again while there is work.
    func lost(index: Int) {
        let connection = connections[index]
        connection.channel = nil
        if connection.busy {
            connection.busy = false
            inFlight -= 1
            refused()
        }
        guard !stopped, mayPublish || issued < due else { return finishIfIdle() }
        counts.reconnects += 1
        let bound = NIOLoopBound(self, eventLoop: loop)
        Self.bootstrap(bound, index: index, loop: loop).connect(host: plan.host, port: plan.port).whenComplete { result in
            let driver = bound.value
            if case .success(let channel) = result {
                driver.connections[index].channel = channel
                driver.resume(driver.connections[index])
            } else {
                driver.finishIfIdle()
            }
        }
    }

    private func refused() {
        counts.errors += 1
        issued -= 1
        if counts.errors > 1000 { stopped = true }
    }

    /// An idle connection takes the next event, if one is due.
    private func resume(_ connection: Connection) {
        guard plan.rate > 0 else { return sendNext(on: connection) }
        guard !stopped, issued < due else { return finishIfIdle() }
        backlog = max(0, backlog - 1)
        sendNext(on: connection)
    }

    private func finishIfIdle() {
        let waiting = plan.rate > 0 && !stopped && (due < total || backlog > 0)
        guard !waiting, !connections.contains(where: \.busy) else { return }
        if !mayPublish || connections.allSatisfy({ $0.channel == nil }) {
            timer?.cancel()
            done.succeed()
        }
    }
}

/// Hands each publish answer's status to the driver.
final class PublishAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let driver: PublishDriver
    private let index: Int
    private var status: UInt = 0

    /// A handler for publisher connection `index`.
    init(driver: PublishDriver, index: Int) {
        self.driver = driver
        self.index = index
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status.code
        case .body: break
        case .end: driver.answered(index: index, status: status)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver.lost(index: index)
        context.fireChannelInactive()
    }
}
