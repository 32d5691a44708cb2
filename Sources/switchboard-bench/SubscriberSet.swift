import Foundation
import NIOCore
import NIOPosix

/// NIO subscribers of a run (`idle`), all on one event loop.
struct SubscriberSet {
    /// The connections that subscribed.
    var channels: [any Channel]
    /// Why the others did not (the first few reasons, for the report).
    var failures: [String]
    /// Seconds it took to open them all.
    var seconds: Double

    /// Opens `count` subscribers, at most `concurrency` handshakes at a time; a subscriber
    /// that is not subscribed within `timeout` is closed and counted as failed.
    static func open(
        count: Int, host: String, port: Int, loop: any EventLoop, tally: NIOLoopBound<DeliveryTally>,
        concurrency: Int = 64, timeout: TimeAmount = .seconds(15),
        request: @escaping @Sendable (Int) -> SubscriberRequest
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
                    await openOne(request: request(index), host: host, port: port, loop: loop, tally: tally, timeout: timeout)
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
        request: SubscriberRequest, host: String, port: Int, loop: any EventLoop,
        tally: NIOLoopBound<DeliveryTally>, timeout: TimeAmount
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

    /// Closes every connection; the tally stops counting the closes as the broker's.
    func close(tally: NIOLoopBound<DeliveryTally>, loop: any EventLoop) async {
        try? await loop.submit { tally.value.closing = true }.get()
        for channel in channels { channel.close(promise: nil) }
        for channel in channels { try? await channel.closeFuture.get() }
    }
}
