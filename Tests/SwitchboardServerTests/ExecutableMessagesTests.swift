import Foundation
import SwitchboardServer
import Testing

/// What a new user reads from the executable: its version, and errors that say where a bad value came from.
@Suite(.serialized) struct ExecutableMessagesTests {
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try ExecutableTests.start(arguments, environment: environment)
        let out = run.stdout.fileHandleForReading.readDataToEndOfFile()
        let err = run.stderr.fileHandleForReading.readDataToEndOfFile()
        run.process.waitUntilExit()
        return (run.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test func versionPrintsTheVersionAndExitsZero() throws {
        let result = try run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "switchboard \(BuildInfo.version)\n")
    }

    @Test func settingsErrorsNameWhereTheValueCameFrom() throws {
        let variable = try run(["--port", "0"], environment: ["SWITCHBOARD_RING_CAPACITY": "abc"])
        #expect(variable.status != 0)
        #expect(variable.stderr.contains("SWITCHBOARD_RING_CAPACITY: ring_capacity must be a whole number"), "\(variable.stderr)")
        let flag = try run(["--port", "0", "--ring-capacity", "abc"])
        #expect(flag.stderr.contains("--ring-capacity: ring_capacity must be"), "\(flag.stderr)")

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-\(UUID()).yaml").path
        try "ring_capacity: abc\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try run(["--port", "0", "--config", path])
        #expect(file.stderr.contains("'ring_capacity' in configuration file \(path): ring_capacity must be"), "\(file.stderr)")
    }

    @Test func aMissingConfigurationFileIsNamedAsNotFound() throws {
        let result = try run(["--port", "0", "--config", "/nonexistent/switchboard.yaml"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("configuration file /nonexistent/switchboard.yaml not found"), "\(result.stderr)")
        #expect(!result.stderr.contains("could not be completed"))
    }
}
