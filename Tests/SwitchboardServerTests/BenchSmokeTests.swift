import Foundation
import SwitchboardServer
import Testing

/// The load tool against a test broker: a correctness check, no timing asserted.
@Suite(.serialized) struct BenchSmokeTests {
    @Test(arguments: ["none", "zstd"])
    func fiftySubscribersLoseNothing(compression: String) async throws {
        try await withBroker { broker in
            let process = Process()
            process.executableURL = ExecutableTests.executable.deletingLastPathComponent().appendingPathComponent("switchboard-bench")
            process.arguments = [
                "fanout", "--port", "\(broker.port)", "--subscribers", "50", "--events", "200", "--rate", "100",
                "--compression", compression,
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let summary = parseJSON(String(decoding: data, as: UTF8.self))
            #expect(process.terminationStatus == 0)
            #expect(summary["delivered"] as? Int == 50 * 200)
            #expect(summary["lost"] as? Int == 0)
            #expect(summary["out_of_order"] as? Int == 0)
            #expect(summary["gaps"] as? Int == 0)
        }
    }
}
