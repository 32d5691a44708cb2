import ArgumentParser
import Foundation

/// `switchboard-bench`: measurements of Switchboard, and of nchan on the same loads.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-bench",
        abstract: "Measure Switchboard (and nchan) on realistic loads.",
        subcommands: [LevelsCommand.self, WireCommand.self, FanoutCommand.self, IdleCommand.self, PollsCommand.self]
    )
}

/// Which broker a run talks to, and how it names things.
enum Target: String, ExpressibleByArgument, Sendable {
    /// Switchboard's contract: `POST /v1/topics/{t}`, `GET /v1/ws?topics=t`, binary frames.
    case switchboard
    /// nchan's defaults: `POST /pub/{t}`, `GET /sub/{t}`, one event per WebSocket message.
    case nchan

    func publishPath(_ topic: String) -> String {
        self == .switchboard ? "/v1/topics/\(topic)" : "/pub/\(topic)"
    }

    func subscribeURL(host: String, port: Int, topic: String, compression: Compression) -> String {
        switch self {
        case .switchboard:
            "ws://\(host):\(port)/v1/ws?topics=\(topic)&compression=\(compression == .zstd ? "zstd" : "none")"
        case .nchan:
            "ws://\(host):\(port)/sub/\(topic)"
        }
    }
}

/// What a subscriber asks for on the wire.
enum Compression: String, ExpressibleByArgument, Sendable {
    /// Nothing.
    case none
    /// Switchboard's zstd frames.
    case zstd
    /// permessage-deflate (nchan with `nchan_deflate_message_for_websocket on`).
    case deflate
}

/// Wall-clock microseconds.
func nowMicros() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}

/// CPU seconds (user + system) a process has used, from /proc.
func cpuSeconds(pid: Int32) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command name: state is field 3, utime field 14, stime field 15.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Busy CPU seconds of the whole machine (all but idle and iowait), from /proc/stat.
func machineBusySeconds() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return nil }
    let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard fields.count >= 8 else { return nil }
    // user nice system idle iowait irq softirq steal: all but idle (3) and iowait (4).
    let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Seconds a process's threads have spent ready to run but waiting for a core, from
/// /proc/PID/task/*/schedstat: time another process took from it on a pinned core.
func runQueueWaitSeconds(pid: Int32) -> Double? {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
    var total = 0.0
    for task in tasks {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8) else { continue }
        let fields = text.split(separator: " ")
        if fields.count >= 2, let nanoseconds = Double(fields[1]) { total += nanoseconds / 1e9 }
    }
    return total
}

/// Bytes the server side of every established connection on `port` has had acknowledged, by peer port.
func serverBytesAcked(port: Int) -> [Int: Int] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
    process.arguments = ["-tinH", "state", "established", "( sport = :\(port) )"]
    let pipe = Pipe()
    process.standardOutput = pipe
    guard (try? process.run()) != nil else { return [:] }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    var result: [Int: Int] = [:]
    var peer: Int?
    for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
        if token.contains(":"), !token.contains("_"), let last = token.split(separator: ":").last, let value = Int(last), token.hasPrefix("127.") || token.hasPrefix("[") {
            // Local address comes first, then the peer's.
            peer = token.hasSuffix(":\(port)") ? peer : value
        } else if token.hasPrefix("bytes_acked:"), let peer, let value = Int(token.dropFirst("bytes_acked:".count)) {
            result[peer, default: 0] += value
        }
    }
    return result
}
