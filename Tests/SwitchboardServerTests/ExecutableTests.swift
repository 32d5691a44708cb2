import Foundation
import SwitchboardServer
import Testing

/// The `switchboard` executable as an operator runs it.
@Suite(.serialized) struct ExecutableTests {
    /// The built executable next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard")
    }

    struct Run {
        let process: Process
        let stdout: Pipe
        let stderr: Pipe
    }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Run(process: process, stdout: out, stderr: err)
    }

    /// Reads the first line of standard output.
    static func firstLine(_ pipe: Pipe) -> String {
        var bytes: [UInt8] = []
        while true {
            let chunk = pipe.fileHandleForReading.readData(ofLength: 1)
            guard let byte = chunk.first, byte != UInt8(ascii: "\n") else { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func printsTheListeningLineWithTheRealPortAndExitsZeroOnSIGTERM() async throws {
        let run = try Self.start(["--port", "0"], environment: ["SWITCHBOARD_RING_CAPACITY": "5"])
        let line = Self.firstLine(run.stdout)
        let match = try #require(line.wholeMatch(of: /switchboard listening on http:\/\/127\.0\.0\.1:(\d+)/))
        let port = try #require(Int(match.1))
        #expect(port > 0)
        let client = try await TestSubscriber(url: "ws://127.0.0.1:\(port)/v1/ws?topics=t")
        try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
        kill(run.process.processIdentifier, SIGTERM)
        try await eventually("close") { client.closed != nil }
        #expect(client.closed??.closeCode == .goingAway)
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 0)
    }

    /// SIGTERM while a publish's body is still arriving: the publish is answered (stored and
    /// 200, or 503 shutting_down) before the process exits, and it exits 0 within the drain timeout.
    @Test func aPublishInFlightAtSIGTERMIsAnsweredBeforeTheProcessExits() async throws {
        let run = try Self.start(["--port", "0", "--drain-timeout", "5"])
        let line = Self.firstLine(run.stdout)
        let match = try #require(line.wholeMatch(of: /switchboard listening on http:\/\/127\.0\.0\.1:(\d+)/))
        let port = try #require(Int(match.1))
        let socket = try RawHTTPSocket(port: port)
        defer { socket.close() }
        try socket.send("POST /v1/topics/late HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhalf")
        _ = await socket.received(for: .milliseconds(200))
        kill(run.process.processIdentifier, SIGTERM)
        _ = await socket.received(for: .milliseconds(500))
        #expect(run.process.isRunning, "the process waits for the request in flight")
        try socket.send("-done")
        let text = await socket.received(until: { $0.hasSuffix("}") })
        let answers = rawAnswers(text)
        #expect(answers.count == 1 && [200, 503].contains(answers.first?.status ?? 0), "\(text)")
        let started = ContinuousClock.now
        run.process.waitUntilExit()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(run.process.terminationStatus == 0)
    }

    @Test func refusesANonLoopbackAddressWithoutCredentials() throws {
        let run = try Self.start(["--host", "0.0.0.0", "--port", "0"])
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus != 0)
        let message = String(decoding: run.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("--allow-anonymous"))
    }

    @Test func rejectsBadSettingsWithAClearMessage() throws {
        let run = try Self.start(["--ring-capacity", "lots"])
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus != 0)
        let message = String(decoding: run.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("ring_capacity must be a whole number"))
    }
}

@Suite struct SettingsTests {
    @Test func fileThenEnvironmentThenFlags() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-\(UUID()).yaml").path
        try "ring_capacity: 10\nport: 9000\nslow_consumer: disconnect\nallow_anonymous: true\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try Settings.apply([
            try Settings.fileLayer(path: path),
            Settings.environmentLayer(["SWITCHBOARD_RING_CAPACITY": "20", "SWITCHBOARD_ZSTD_LEVEL": "5"]),
            ["ring_capacity": ["30"]],
        ])
        #expect(configuration.engine.ringLimits.capacity == 30)
        #expect(configuration.port == 9000)
        #expect(configuration.engine.zstdLevel == 5)
        #expect(configuration.slowConsumer == .disconnect)
        #expect(configuration.allowAnonymous)
        #expect(throws: ConfigurationError.self) { try Settings.apply([["nonsense": ["1"]]]) }
        #expect(throws: ConfigurationError.self) { try Settings.apply([["port": ["70000"]]]) }
    }

    @Test func defaultsAreTheContractsDefaults() {
        let configuration = BrokerConfiguration()
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.engine.ringLimits == .init(capacity: 1024, maxBytes: 8_388_608, ttlSeconds: 0))
        #expect(configuration.engine.maxPayloadBytes == 1_048_576 && configuration.subscriberQueueBytes == 4_194_304)
        #expect(configuration.slowConsumer == .drop && configuration.pingIntervalSeconds == 20)
        #expect(configuration.drainTimeoutSeconds == 10 && configuration.engine.zstdLevel == 3)
    }
}
