import NIOCore
import NIOPosix
import Testing

@testable import SwitchboardRedis

/// Against a real `redis-server` started by each test on a free port.
@Suite(.serialized) struct RedisConnectionTests {
    @Test func helloThreeAndCommands() async throws {
        let server = try await RedisServerProcess()
        let connection = try await RedisConnection.connect(configuration: server.configuration())
        #expect(connection.protocolVersion == 3)
        #expect(connection.serverInfo["server"]?.string == "redis")
        #expect(connection.serverInfo["proto"]?.int == 3)
        #expect(connection.serverInfo["modules"]?.array != nil)

        #expect(try await connection.ping())
        try await connection.set("k", to: "v")
        #expect(try await connection.get("k") == ByteBuffer(string: "v"))
        #expect(try await connection.get("missing") == nil)
        #expect(try await connection.send(["INCRBY", "n", "5"]) == .integer(5))
        try await connection.send(["HSET", "h", "a", "1", "b", "2"])
        let hash = try await connection.send(["HGETALL", "h"])
        guard case .map(let entries) = hash else {
            Issue.record("HGETALL over RESP3 is not a map: \(hash)")
            return
        }
        #expect(entries.count == 2 && hash["a"]?.string == "1" && hash["b"]?.int == 2)
        #expect(try await connection.send(["SISMEMBER", "nokey", "x"]) == .integer(0))
        #expect(try await connection.send(["INCRBYFLOAT", "f", "1.5"]).double == 1.5)
        let binary = ByteBuffer(bytes: [0, 13, 10, 255])
        try await connection.set("bin", to: RedisArgument(binary))
        #expect(try await connection.get("bin") == binary)

        await #expect(throws: RedisError.server) { try await connection.send(["NOSUCHCOMMAND"]) }
        do {
            try await connection.send(["INCR", "h"])
            Issue.record("INCR on a hash succeeded")
        } catch {
            #expect(error.serverCode == "WRONGTYPE")
        }
        // Still in step after the errors.
        #expect(try await connection.send(["ECHO", "after"]).string == "after")
        await connection.close()
        await #expect(throws: RedisError.connectionClosed) { try await connection.send(["PING"]) }
    }

    @Test func pipeliningAThousandCommands() async throws {
        let server = try await RedisServerProcess()
        let connection = try await RedisConnection.connect(configuration: server.configuration())
        defer { Task { await connection.close() } }

        let results = try await connection.pipeline((0..<1000).map { _ in ["INCR", "counter"] })
        #expect(results.count == 1000)
        #expect(results.compactMap { try? $0.get().int } == Array(1...1000))

        // A thousand commands in flight at once from many tasks: each gets its own reply.
        let echoed = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for i in 0..<1000 {
                group.addTask { (i, try await connection.send(["ECHO", "m\(i)"]).string) }
            }
            var all: [Int: String?] = [:]
            for try await (i, reply) in group { all[i] = reply }
            return all
        }
        #expect(echoed.count == 1000)
        #expect(echoed.allSatisfy { $0.value == "m\($0.key)" })

        let mixed = try await connection.pipeline([["SET", "a", "1"], ["INCR", "nothing", "extra"], ["GET", "a"]])
        #expect(try mixed[0].get() == .simple("OK"))
        #expect(throws: RedisError.server) { try mixed[1].get() }
        #expect(try mixed[2].get() == .blob("1"))
    }

    @Test func authAndSelectFromTheURL() async throws {
        let server = try await RedisServerProcess(extraArguments: ["--requirepass", "s3cret"])
        var noPassword = server.configuration()
        await #expect(throws: RedisError.connectFailed) { try await RedisConnection.connect(configuration: noPassword) }
        noPassword.password = "wrong"
        do {
            _ = try await RedisConnection.connect(configuration: noPassword)
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error == .connectFailed && error.message.contains("WRONGPASS"))
        }

        var configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)/2")
        configuration.clientName = "switchboard-test"
        let connection = try await RedisConnection.connect(configuration: configuration)
        try await connection.set("where", to: "db2")
        let info = try #require(try await connection.send(["CLIENT", "INFO"]).string)
        #expect(info.contains(" db=2 ") && info.contains("name=switchboard-test"))
        #expect(try await connection.send(["ACL", "WHOAMI"]).string == "default")

        try await connection.send(["ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"])
        let alice = try await RedisConnection.connect(configuration: RedisConfiguration(url: "redis://alice:pw@127.0.0.1:\(server.port)"))
        #expect(try await alice.send(["ACL", "WHOAMI"]).string == "alice")
        #expect(try await alice.get("where") == nil)  // database 0
        try await alice.send(["SELECT", "2"])
        #expect(try await alice.get("where") == ByteBuffer(string: "db2"))
        await alice.close()
        await connection.close()
    }

    @Test func scriptsFallBackToEvalAfterScriptFlush() async throws {
        let server = try await RedisServerProcess()
        let connection = try await RedisConnection.connect(configuration: server.configuration())
        let script = RedisScript("redis.call('INCRBY', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1])}")
        #expect(try await connection.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]) == .array([.integer(0)]))

        // Not cached: EVALSHA answers NOSCRIPT, EVAL runs it and caches it.
        #expect(try await connection.evalScript(script, keys: ["s"], args: [2]) == .array([.blob("s"), .blob("2")]))
        #expect(try await connection.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]) == .array([.integer(1)]))
        #expect(try await connection.evalScript(script, keys: ["s"], args: [3]) == .array([.blob("s"), .blob("5")]))

        try await connection.send(["SCRIPT", "FLUSH"])
        #expect(try await connection.evalScript(script, keys: ["s"], args: [1]) == .array([.blob("s"), .blob("6")]))

        try await connection.send(["SCRIPT", "FLUSH"])
        try await connection.loadScript(script)
        #expect(try await connection.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]) == .array([.integer(1)]))

        do {
            try await connection.evalScript(RedisScript("return redis.call('NOPE')"))
            Issue.record("a failing script did not throw")
        } catch {
            #expect(error == .server)
        }
        await connection.close()
    }

    @Test func aCommandTimesOutAndLaterRepliesStayInStep() async throws {
        let server = try await RedisServerProcess()
        let connection = try await RedisConnection.connect(configuration: server.configuration(commandTimeout: .milliseconds(300)))
        let started = ContinuousClock.now
        await #expect(throws: RedisError.timeout) { try await connection.send(["DEBUG", "SLEEP", "1"]) }
        #expect(ContinuousClock.now - started < .milliseconds(900))
        // Queued behind the sleep: times out too.
        await #expect(throws: RedisError.timeout) { try await connection.send(["ECHO", "late"]) }
        try await Task.sleep(for: .milliseconds(800))
        // The late replies were read and dropped: this one gets its own.
        #expect(try await connection.send(["ECHO", "next"]).string == "next")
        await connection.close()
    }

    @Test func aServerThatNeverAnswersTimesOutTheConnect() async throws {
        // Accepts connections and never says a word.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let configuration = RedisConfiguration(host: "127.0.0.1", port: silent.localAddress!.port!, connectTimeout: .milliseconds(200))
        let started = ContinuousClock.now
        await #expect(throws: RedisError.connectTimeout) { try await RedisConnection.connect(configuration: configuration) }
        #expect(ContinuousClock.now - started < .seconds(1))
        try await silent.close()
    }

    @Test func largeValuesCrossManyReads() async throws {
        let server = try await RedisServerProcess()
        // 84 MiB cross the socket here: a debug build on a loaded machine needs more than the usual 2 s.
        let connection = try await RedisConnection.connect(configuration: server.configuration(commandTimeout: .seconds(30)))
        // 4 MiB: a 1 KiB pattern (with CR LF inside) 4,096 times, each copy stamped with its number.
        let pattern = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var big = ByteBuffer()
        for i in 0..<4096 {
            big.writeBytes(pattern)
            big.setInteger(UInt32(i), at: i * 1024)
        }
        try await connection.set("big", to: RedisArgument(big))
        #expect(try await connection.get("big") == big)
        let replies = try await connection.pipeline((0..<20).map { _ in ["GET", "big"] })
        for reply in replies { #expect(try reply.get().bytes == big) }  // a failure says which error
        await connection.close()
    }

    @Test func connectingToNothingFails() async throws {
        let port = try RedisServerProcess.freePort()
        let configuration = RedisConfiguration(host: "127.0.0.1", port: port)
        await #expect(throws: RedisError.connectFailed) { try await RedisConnection.connect(configuration: configuration) }
    }
}
