import Foundation

/// Debian's headless Chromium, run as a tool by the admin page tests.
enum Chromium {
    /// The browser's path, if one is installed (`CHROMIUM` overrides the search).
    static let path: String? = {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether the test must run: a browser is here, or CI is set (and then its absence fails the test).
    static var shouldRun: Bool { path != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    /// Loads `url` headless, lets its scripts run for `budget` of virtual time, and returns the serialized DOM.
    static func dumpDOM(_ url: String, budget: Duration = .seconds(4), timeout: Duration = .seconds(60)) async throws -> String {
        guard let path else { throw ChromiumMissing() }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let output = profile.appendingPathExtension("html")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        let milliseconds = budget.components.seconds * 1000 + budget.components.attoseconds / 1_000_000_000_000_000
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--window-size=1400,900",
            "--virtual-time-budget=\(milliseconds)", "--dump-dom", url,
        ]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        let ended = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in ended.continuation.finish() }
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            kill(pid, SIGKILL)
        }
        for await _ in ended.stream {}
        watchdog.cancel()
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }

    /// Thrown when no browser is installed.
    struct ChromiumMissing: Error, CustomStringConvertible {
        var description: String { "chromium is not installed (scripts/deps.sh installs Debian's package)" }
    }
}
