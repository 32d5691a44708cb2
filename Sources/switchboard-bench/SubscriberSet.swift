import Foundation
import NIOCore
import NIOPosix

/// Light subscribers of a run, all on one event loop.
struct SubscriberSet {
    /// The connections that subscribed.
    var channels: [any Channel]
    /// Why the others did not (the first few reasons, for the report).
    var failures: [String]
    /// Seconds it took to open them all.
    var seconds: Double

    /// SO_RCVLOWAT: the kernel reports a socket readable only once this many bytes wait.
    static let readBatch = ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_RCVLOWAT))

    /// Opens `count` subscribers, at most `concurrency` handshakes at a time; a subscriber
    /// that is not subscribed within `timeout` is closed and counted as failed.
    static func open(
        count: Int, host: String, port: Int, loop: any EventLoop, tally: NIOLoopBound<DeliveryTally>,
        concurrency: Int = 64, timeout: TimeAmount = .seconds(15), readBatchBytes: Int = 0,
        request: @escaping @Sendable (Int) -> LightSubscriber.Request
    ) async -> SubscriberSet {
        let start = ContinuousClock.now
        var set = SubscriberSet(channels: [], failures: [], seconds: 0)
        set.channels.reserveCapacity(count)
        await withTaskGroup(of: Result<any Channel, any Error>.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    await openOne(request: request(index), host: host, port: port, loop: loop, tally: tally, timeout: timeout, readBatchBytes: readBatchBytes)
                }
            }
            while next < min(count, concurrency) { add() }
            while let result = await group.next() {
                switch result {
                case .success(let channel): set.channels.append(channel)
                case .failure(let error): if set.failures.count < 5 { set.failures.append("\(error)") }
                }
                if next < count { add() }
            }
        }
        set.seconds = (ContinuousClock.now - start).seconds
        return set
    }

    private static func openOne(
        request: LightSubscriber.Request, host: String, port: Int, loop: any EventLoop,
        tally: NIOLoopBound<DeliveryTally>, timeout: TimeAmount, readBatchBytes: Int
    ) async -> Result<any Channel, any Error> {
        let ready = loop.makePromise(of: Void.self)
        do {
            let channel = try await ClientBootstrap(group: loop)
                // One read per readiness: a second read would mostly find nothing and cost a syscall.
                .channelOption(.maxMessagesPerRead, value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LightSubscriber(request: request, tally: tally.value, ready: ready))
                    }
                }
                .connect(host: host, port: port).get()
            let deadline = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
            defer { deadline.cancel() }
            do {
                try await ready.futureResult.get()
                // Set after the handshake, whose answer is smaller than a batch.
                if readBatchBytes > 1 { try await channel.setOption(readBatch, value: SocketOptionValue(readBatchBytes)).get() }
            } catch {
                channel.close(promise: nil)
                throw error
            }
            return .success(channel)
        } catch {
            // The handler fails `ready` when it is removed; make sure it is completed if it never was added.
            ready.fail(error)
            return .failure(error)
        }
    }

    /// Reads every byte as it comes again (a run with a read batch lowers it before the last events).
    func endReadBatch() async {
        for channel in channels { try? await channel.setOption(Self.readBatch, value: 1).get() }
    }

    /// Closes every connection; the tally stops counting the closes as the broker's.
    func close(tally: NIOLoopBound<DeliveryTally>, loop: any EventLoop) async {
        try? await loop.submit { tally.value.closing = true }.get()
        for channel in channels { channel.close(promise: nil) }
        for channel in channels { try? await channel.closeFuture.get() }
    }
}
