import NIOCore
import Testing

@testable import SwitchboardRedis

/// Pub/sub against a real `redis-server`, including a kill and a restart on the same port.
@Suite(.serialized) struct RedisSubscriberTests {
    @Test func receivesAndResubscribesAfterARestart() async throws {
        let server = try await RedisServerProcess()
        let subscriber = RedisSubscriber(configuration: server.configuration())
        let events = Recorder(subscriber.events)
        let publisher = RedisClient(configuration: server.configuration())
        try await withRunning({ await publisher.run() }) {
            try await withRunning({ await subscriber.run() }) {
                await events.wait { $0 == [.connected(reconnected: false)] }
                try await subscriber.subscribe(["news", "other"])
                try await subscriber.psubscribe(["tick.*"])
                try await publisher.waitUntilConnected(timeout: .seconds(5))

                #expect(try await publisher.publish("hello", to: "news") == 1)
                #expect(try await publisher.publish(RedisArgument(ByteBuffer(bytes: [0, 1, 2])), to: "tick.a") == 1)
                #expect(try await publisher.publish("nobody", to: "elsewhere") == 0)
                await events.wait {
                    $0.dropFirst() == [
                        .message(channel: "news", payload: ByteBuffer(string: "hello")),
                        .patternMessage(pattern: "tick.*", channel: "tick.a", payload: ByteBuffer(bytes: [0, 1, 2])),
                    ]
                }

                server.kill()
                await events.wait { $0.last == .disconnected }
                // Made while down: kept, and sent once reconnected.
                await #expect(throws: RedisError.unavailable) { try await subscriber.subscribe(["late"]) }
                #expect(subscriber.channels == ["news", "other", "late"])

                try await server.start()
                await events.wait { $0.last == .connected(reconnected: true) }
                try await publisher.waitUntilConnected(timeout: .seconds(5))
                #expect(try await publisher.publish("again", to: "news") == 1)
                #expect(try await publisher.publish("x", to: "late") == 1)
                #expect(try await publisher.publish("y", to: "tick.b") == 1)
                await events.wait {
                    Array($0.suffix(3)) == [
                        .message(channel: "news", payload: ByteBuffer(string: "again")),
                        .message(channel: "late", payload: ByteBuffer(string: "x")),
                        .patternMessage(pattern: "tick.*", channel: "tick.b", payload: ByteBuffer(string: "y")),
                    ]
                }

                try await subscriber.unsubscribe(["news"])
                try await subscriber.punsubscribe(["tick.*"])
                #expect(try await publisher.publish("gone", to: "news") == 0)
                #expect(try await publisher.publish("gone", to: "tick.c") == 0)
                #expect(try await publisher.publish("still", to: "other") == 1)
                await events.wait { $0.last == .message(channel: "other", payload: ByteBuffer(string: "still")) }
            }
        }
        await events.wait { $0.last == .disconnected }
    }

    @Test func aSilentServerMakesTheSubscriberReconnectAndSaySo() async throws {
        let server = try await RedisServerProcess()
        var configuration = server.configuration(commandTimeout: .milliseconds(200))
        configuration.healthCheckInterval = .milliseconds(100)
        let subscriber = RedisSubscriber(configuration: configuration)
        let events = Recorder(subscriber.events)
        let other = try await RedisConnection.connect(configuration: server.configuration(commandTimeout: .seconds(5)))
        try await withRunning({ await subscriber.run() }) {
            await events.wait { $0 == [.connected(reconnected: false)] }
            try await subscriber.subscribe(["quiet"])
            try await other.send(["DEBUG", "SLEEP", "1.5"])
            await events.wait { $0.suffix(2) == [.disconnected, .connected(reconnected: true)] }
            #expect(try await other.publish("back", to: "quiet") == 1)
            await events.wait { $0.last == .message(channel: "quiet", payload: ByteBuffer(string: "back")) }
        }
        await other.close()
    }

    @Test func manyMessagesArriveInOrder() async throws {
        let server = try await RedisServerProcess()
        let subscriber = RedisSubscriber(configuration: server.configuration())
        let events = Recorder(subscriber.events)
        let publisher = try await RedisConnection.connect(configuration: server.configuration())
        try await withRunning({ await subscriber.run() }) {
            await events.wait { $0 == [.connected(reconnected: false)] }
            try await subscriber.subscribe(["seq"])
            let replies = try await publisher.pipeline((1...2000).map { ["PUBLISH", "seq", RedisArgument($0)] })
            #expect(replies.allSatisfy { (try? $0.get()) == .integer(1) })
            await events.wait { $0.count == 2001 }
            let payloads = events.all.compactMap { event -> Int? in
                guard case .message(_, let payload) = event else { return nil }
                return Int(String(buffer: payload))
            }
            #expect(payloads == Array(1...2000))
        }
        await publisher.close()
    }
}
