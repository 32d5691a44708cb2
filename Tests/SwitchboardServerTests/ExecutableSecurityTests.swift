import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The executable with credentials: its logs at debug level (one line per connection and per
/// rejection, never a token or a payload) and its refusal to start with unusable credentials.
@Suite(.serialized) struct ExecutableSecurityTests {
    @Test func refusesToStartWithAnUnusableKeyFileOrAShortSecret() throws {
        for arguments in [["--jwt-public-key", "/nonexistent/switchboard-key.pem"], ["--jwt-secret", "too-short"]] {
            let run = try ExecutableTests.start(["--port", "0"] + arguments)
            run.process.waitUntilExit()
            #expect(run.process.terminationStatus != 0)
            let message = String(decoding: run.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(message.contains(arguments[0] == "--jwt-secret" ? "jwt_secret must be at least 32 bytes" : "/nonexistent/switchboard-key.pem"), "\(message)")
            #expect(!message.contains("too-short"), "the secret is not echoed")
        }
    }

    @Test func tokensAndPayloadsNeverAppearInTheLogs() async throws {
        let good = try await TestTokens.hs256(publish: ["logs.*"], subscribe: ["logs.*"])
        let forbidden = try await TestTokens.hs256(subscribe: ["other"])
        let bad = "not-a-valid-token-\(UUID().uuidString)"
        let payload = "payload-\(UUID().uuidString)"
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-log-\(UUID()).txt").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }

        let process = Process()
        process.executableURL = ExecutableTests.executable
        process.arguments = ["--port", "0", "--jwt-secret", TestTokens.secret, "--log-level", "debug"]
        process.environment = ProcessInfo.processInfo.environment.merging(["SWITCHBOARD_LOG_LEVEL": "debug"]) { $1 }
        let stdout = Pipe()
        process.standardOutput = stdout
        // A file rather than a pipe, so a chatty debug log can never block the broker.
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let line = ExecutableTests.firstLine(stdout)
        let port = try #require(line.wholeMatch(of: /switchboard listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
        let ws = "ws://127.0.0.1:\(port)/v1/ws"

        let client = try await TestSubscriber(url: ws + "?topics=logs.a&token=\(good)")
        try await eventually("subscribed") { !client.controls(type: "subscribed").isEmpty }
        try await client.send(#"{"op":"subscribe","topic":"secret.topic"}"#)
        try await eventually("refused") { !client.controls(type: "error").isEmpty }
        await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: ws + "?topics=logs.a&token=\(bad)") }
        await #expect(throws: (any Error).self) { _ = try await TestSubscriber(url: ws + "?topics=logs.a&token=\(forbidden)") }
        try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
            #expect(try await http.get("/v1/ws?topics=logs.a&token=\(bad)").status == .unauthorized)
            #expect(try await http.get("/v1/ws?topics=logs.a", headers: TestTokens.bearer(forbidden)).status == .forbidden)
            let published = try await http.post("/v1/topics/logs.a", headers: TestTokens.bearer(good), body: ByteBuffer(string: payload))
            #expect(published.status == .ok)
            let refused = try await http.post("/v1/topics/other", headers: TestTokens.bearer(good), body: ByteBuffer(string: payload))
            #expect(refused.status == .forbidden)
            #expect(try await http.post("/v1/topics/logs.a", headers: TestTokens.bearer(bad), body: ByteBuffer(string: payload)).status == .unauthorized)
        }
        try await eventually("event") { client.seqs("logs.a") == [1] }
        try await client.close()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        for secret in [good, forbidden, bad, TestTokens.secret, payload] + [good, forbidden].compactMap({ $0.split(separator: ".").last.map(String.init) }) {
            #expect(!log.contains(secret), "the log holds a secret or a payload")
        }
        #expect(log.contains("connection opened") && log.contains("connection closed"))
        #expect(log.contains("request rejected") && log.contains("status=401") && log.contains("status=403"))
        #expect(log.contains("path=/v1/ws") && log.contains("path=/v1/topics/other"))
        #expect(!log.contains("&token") && !log.contains("?topics="), "no query string is logged")
    }
}
