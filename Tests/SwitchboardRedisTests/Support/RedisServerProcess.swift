import Foundation
import NIOCore
import NIOPosix
import SwitchboardRedis
import Synchronization
import Testing

/// A `redis-server` child process on 127.0.0.1 and a free port, for one test; never a system service.
final class RedisServerProcess {
    let port: Int
    let extraArguments: [String]
    private var process: Process?

    /// Starts a server; `extraArguments` are added to its command line (`--requirepass`, …).
    init(port: Int? = nil, extraArguments: [String] = []) async throws {
        self.port = try port ?? Self.freePort()
        self.extraArguments = extraArguments
        try await start()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    func configuration(commandTimeout: Duration = .seconds(2)) -> RedisConfiguration {
        RedisConfiguration(
            host: "127.0.0.1",
            port: port,
            connectTimeout: .seconds(1),
            commandTimeout: commandTimeout,
            minimumBackoff: .milliseconds(20),
            maximumBackoff: .milliseconds(200)
        )
    }

    /// Starts the server (again, on the same port after ``kill()``) and waits until it answers.
    func start() async throws {
        let process = Process()
        process.executableURL = try Self.redisServerPath()
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", "--loglevel", "warning",
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisError.connectTimeout
    }

    /// Kills the server at once (SIGKILL) and waits for it to be gone.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit { kill() }

    static func redisServerPath() throws -> URL {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        struct Missing: Error, CustomStringConvertible {
            var description: String { "redis-server is not installed (apt-get install -y redis-server)" }
        }
        throw Missing()
    }

    /// A port nothing listens on now: bind port 0, read it, close.
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }
}

/// Runs `body` while `run` runs in a task, then cancels that task and waits for it to end.
func withRunning<T>(
    _ run: @escaping @Sendable () async -> Void,
    _ body: () async throws -> T
) async throws -> T {
    let task = Task { await run() }
    do {
        let result = try await body()
        task.cancel()
        await task.value
        return result
    } catch {
        task.cancel()
        await task.value
        throw error
    }
}

/// Collects what an async sequence yields, so a test can wait for a condition on it.
final class Recorder<Element: Sendable>: Sendable {
    private final class Items: Sendable {
        let list = Mutex<[Element]>([])
    }

    private let items = Items()
    private let task: Task<Void, Never>

    init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == Element {
        let items = self.items
        task = Task {
            do {
                for try await item in sequence { items.list.withLock { $0.append(item) } }
            } catch {}
        }
    }

    var all: [Element] { items.list.withLock { $0 } }

    /// Waits until `condition` holds for what was recorded, or fails after `timeout`.
    @discardableResult
    func wait(
        timeout: Duration = .seconds(5),
        sourceLocation: SourceLocation = #_sourceLocation,
        until condition: ([Element]) -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(all) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within \(timeout); recorded: \(all)", sourceLocation: sourceLocation)
        return false
    }

    deinit { task.cancel() }
}

/// Waits until `condition` is true, or fails after `timeout`.
func eventually(
    timeout: Duration = .seconds(5),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async -> Bool
) async {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try? await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
}
