import CEpoll
import Dispatch
import Foundation

/// The fan-out's subscribers, read by one thread of their own with edge-triggered epoll:
/// one `read` per readiness into one shared buffer, parsed in place by each connection's
/// `SubscriberStream`. At 100,000 single-event frames a second (nchan at 100 events/s × 1,000
/// subscribers) NIO's per-read work (the selector's bookkeeping, a pipeline hop, retains and
/// releases, a level-triggered re-poll) cost about as much as the kernel's read itself.
///
/// Every use of the connections and the tally holds `lock`: the reader takes it once per
/// `epoll_wait` batch, the controlling task for a snapshot or to add connections.
final class EpollSubscribers: @unchecked Sendable {
    private final class Connection {
        let fd: Int32
        var stream: SubscriberStream
        /// Bytes of an incomplete handshake or frame, kept for the next read.
        var pending: [UInt8] = []
        /// Counted as ready or as failed.
        var settled = false
        /// The descriptor is still open.
        var open = true
        init(fd: Int32, request: SubscriberRequest) {
            self.fd = fd
            stream = SubscriberStream(request: request)
        }
    }

    private let lock = NSLock()
    private let epoll: Int32
    private let tally: DeliveryTally
    private let readBatchBytes: Int
    private var connections: [Connection] = []
    private var settledCount = 0
    private var failures: [String] = []
    private var stopping = false
    private let exited = DispatchSemaphore(value: 0)
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    /// Subscribers counting into `tally`; with `readBatchBytes` > 1 each socket is read only once
    /// that many bytes wait (SO_RCVLOWAT), set once it is subscribed.
    init(tally: DeliveryTally, readBatchBytes: Int) throws {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw WebSocketHandshakeError("epoll_create1 failed: errno \(errno)") }
        self.tally = tally
        self.readBatchBytes = readBatchBytes
        Thread { [self] in run() }.start()
    }

    deinit {
        close(epoll)
        buffer.deallocate()
    }

    /// Runs `body` with the tally, while the reader is between batches.
    func withTally<T>(_ body: (DeliveryTally) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(tally)
    }

    /// Opens `count` subscribers to `host:port`, at most `concurrency` handshakes at a time; those
    /// not subscribed within `timeout` are closed and counted as failed. Returns how many
    /// subscribed, the first few reasons of the others, and the seconds it took.
    func open(
        count: Int, host: String, port: Int, concurrency: Int = 64, timeout: Duration = .seconds(15),
        request: (Int) -> SubscriberRequest
    ) async throws -> (subscribed: Int, failures: [String], seconds: Double) {
        let start = ContinuousClock.now
        let address = try IPv4Address(host: host, port: port)
        for index in 0..<count {
            while locked({ connections.count - settledCount }) >= concurrency, ContinuousClock.now - start < timeout {
                try await Task.sleep(for: .milliseconds(1))
            }
            let fd = address.connect()
            guard fd >= 0 else {
                locked { noteFailure("connect failed: errno \(-fd)") }
                continue
            }
            let connection = Connection(fd: fd, request: request(index))
            let head = Array(connection.stream.request.head.utf8)
            guard head.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == head.count else {
                close(fd)
                locked { noteFailure("could not send the upgrade request") }
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
            locked {
                event.data.u64 = UInt64(connections.count)
                connections.append(connection)
                // Registering reports data that came already (the 101 may be waiting).
                _ = epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
            }
        }
        while locked({ settledCount < connections.count }), ContinuousClock.now - start < timeout {
            try await Task.sleep(for: .milliseconds(5))
        }
        return locked {
            for connection in connections where !connection.settled { fail(connection, "not subscribed within \(timeout)") }
            return (connections.count { $0.settled && $0.stream.isReady }, failures, (ContinuousClock.now - start).seconds)
        }
    }

    /// Reads every byte as it comes again (a run with a read batch lowers it before the last events).
    func endReadBatch() {
        locked {
            var one: Int32 = 1
            for connection in connections where connection.open {
                _ = setsockopt(connection.fd, SOL_SOCKET, SO_RCVLOWAT, &one, socklen_t(MemoryLayout<Int32>.size))
            }
        }
    }

    /// Closes every connection (not counted as the broker's closes) and stops the reader; once.
    func stop() {
        let first = locked {
            defer { stopping = true }
            tally.closing = true
            for connection in connections { shut(connection) }
            return !stopping
        }
        if first { exited.wait() }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func run() {
        // The publishers' event loop shares this core: a lower priority lets its timer wake-ups
        // run at once, so events go out when they are due, not when a read batch ends.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(cepoll_thread_id()), 5)
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        while true {
            let ready = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), 20) }
            lock.lock()
            if stopping {
                lock.unlock()
                exited.signal()
                return
            }
            for index in 0..<Int(max(ready, 0)) { service(connections[Int(events[index].data.u64)]) }
            lock.unlock()
        }
    }

    /// Reads what `connection` has; edge-triggered, so a short read means the socket is drained
    /// (data that comes later raises a new edge).
    private func service(_ connection: Connection) {
        while connection.stream.phase != .closed {
            let keep = connection.pending.count
            if keep + 64 * 1024 > buffer.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * (keep + 64 * 1024), alignment: 16)
                buffer.deallocate()
                buffer = larger
            }
            if keep > 0 { connection.pending.withUnsafeBytes { buffer.copyMemory(from: $0) } }
            let room = buffer.count - keep
            let count = read(connection.fd, buffer.baseAddress! + keep, room)
            if count > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<(keep + count)])
                var outcome = SubscriberStream.Outcome()
                let used = connection.stream.consume(bytes, now: nowMicros(), tally: tally, outcome: &outcome)
                connection.pending.removeAll(keepingCapacity: true)
                if used < bytes.count { connection.pending.append(contentsOf: bytes[used...]) }
                handle(outcome, of: connection)
                if count < room { return }
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return lost(connection)
            } else if errno != EINTR {
                return
            }
        }
    }

    private func handle(_ outcome: SubscriberStream.Outcome, of connection: Connection) {
        if outcome.ready, !connection.settled {
            connection.settled = true
            settledCount += 1
            tally.ready += 1
            if readBatchBytes > 1 {
                var bytes = Int32(readBatchBytes)
                _ = setsockopt(connection.fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        if let pong = outcome.pong { _ = pong.withUnsafeBytes { write(connection.fd, $0.baseAddress, $0.count) } }
        if let failure = outcome.failure {
            fail(connection, failure)
        } else if outcome.close {
            if !tally.closing { tally.closedByBroker += 1 }
            shut(connection)
        }
    }

    /// The connection ended (EOF or an error).
    private func lost(_ connection: Connection) {
        if connection.settled {
            if !tally.closing { tally.closedByBroker += 1 }
            shut(connection)
        } else {
            fail(connection, "connection closed before subscribing")
        }
    }

    /// Closes a connection that never subscribed and counts it as failed.
    private func fail(_ connection: Connection, _ reason: String) {
        shut(connection)
        guard !connection.settled else { return }
        connection.settled = true
        settledCount += 1
        noteFailure(reason)
    }

    /// Closes the descriptor once; nothing more is read from it.
    private func shut(_ connection: Connection) {
        connection.stream.markClosed()
        guard connection.open else { return }
        connection.open = false
        close(connection.fd)
    }

    private func noteFailure(_ reason: String) {
        tally.failed += 1
        if failures.count < 5 { failures.append(reason) }
    }
}
