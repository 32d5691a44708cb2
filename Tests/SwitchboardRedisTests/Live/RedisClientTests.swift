import NIOCore
import Testing

@testable import SwitchboardRedis

/// The reconnecting client against a real `redis-server` that the test kills and starts again.
@Suite(.serialized) struct RedisClientTests {
    @Test func reconnectsAfterARestartAndFailsFastWhileDown() async throws {
        let server = try await RedisServerProcess()
        let client = RedisClient(configuration: server.configuration())
        let states = Recorder(client.stateChanges)
        try await withRunning({ await client.run() }) {
            try await client.waitUntilConnected(timeout: .seconds(5))
            #expect(client.connectionState == .connected)
            try await client.set("k", to: "v")
            #expect(try await client.get("k") == ByteBuffer(string: "v"))

            server.kill()
            await states.wait { $0 == [.connected, .disconnected] }
            #expect(client.connectionState == .disconnected)
            let started = ContinuousClock.now
            await #expect(throws: RedisError.unavailable) { try await client.send(["PING"]) }
            #expect(ContinuousClock.now - started < .milliseconds(100))

            try await server.start()
            try await client.waitUntilConnected(timeout: .seconds(5))
            await states.wait { $0 == [.connected, .disconnected, .connected] }
            #expect(try await client.ping())
            #expect(try await client.get("k") == nil)  // the server came back empty
        }
        await states.wait { $0.last == .disconnected }
    }

    @Test func startsWhileRedisIsDownAndConnectsWhenItAppears() async throws {
        let port = try RedisServerProcess.freePort()
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(1))
        configuration.minimumBackoff = .milliseconds(20)
        configuration.maximumBackoff = .milliseconds(200)
        let client = RedisClient(configuration: configuration)
        try await withRunning({ await client.run() }) {
            try await Task.sleep(for: .milliseconds(300))
            await #expect(throws: RedisError.unavailable) { try await client.send(["PING"]) }
            await #expect(throws: RedisError.unavailable) { try await client.waitUntilConnected(timeout: .milliseconds(100)) }
            let server = try await RedisServerProcess(port: port)
            try await client.waitUntilConnected(timeout: .seconds(5))
            #expect(try await client.ping())
            server.kill()
        }
    }

    @Test func aSilentServerIsNoticedByTheHealthCheck() async throws {
        let server = try await RedisServerProcess()
        var configuration = server.configuration(commandTimeout: .milliseconds(200))
        configuration.healthCheckInterval = .milliseconds(100)
        let client = RedisClient(configuration: configuration)
        let states = Recorder(client.stateChanges)
        let sleeper = try await RedisConnection.connect(configuration: server.configuration(commandTimeout: .seconds(5)))
        try await withRunning({ await client.run() }) {
            try await client.waitUntilConnected(timeout: .seconds(5))
            // The server stops answering anyone for 1.5 s, as a dead host would.
            async let slept = sleeper.send(["DEBUG", "SLEEP", "1.5"])
            await states.wait(timeout: .seconds(1)) { $0 == [.connected, .disconnected] }
            _ = try await slept
            await states.wait { $0 == [.connected, .disconnected, .connected] }
            // Connected again, and answering: a ping may still meet the 200 ms command timeout
            // once on a machine running many suites at once, so it has a few tries.
            var answered = false
            for _ in 0..<10 where !answered {
                answered = (try? await client.ping()) ?? false
            }
            #expect(answered, "the client answers again after the silent server came back")
        }
        await sleeper.close()
    }

    @Test func evalScriptThroughTheClient() async throws {
        let server = try await RedisServerProcess()
        let client = RedisClient(configuration: server.configuration())
        try await withRunning({ await client.run() }) {
            try await client.waitUntilConnected(timeout: .seconds(5))
            let next = RedisScript("return redis.call('INCR', KEYS[1])")
            #expect(try await client.evalScript(next, keys: ["seq"]) == .integer(1))
            try await client.send(["SCRIPT", "FLUSH"])
            #expect(try await client.evalScript(next, keys: ["seq"]) == .integer(2))
            let replies = try await client.pipeline((0..<10).map { _ in ["EVALSHA", RedisArgument(next.sha1), 1, "seq"] })
            #expect(replies.compactMap { try? $0.get().int } == Array(3...12))
        }
    }
}
