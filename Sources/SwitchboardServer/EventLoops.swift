import Foundation
import NIOCore
import NIOPosix

/// The broker's event loops: one per core the process may run on.
///
/// NIO's `System.coreCount` honours cgroup limits but not the CPU affinity mask, so a broker
/// pinned with `taskset -c 0` on a 2-core machine would run two loops (and their context
/// switches) on one core. Counting the cores in `Cpus_allowed` keeps it at one per core.
enum EventLoops {
    /// The process-wide group, sized to the cores this process may use.
    static let shared = MultiThreadedEventLoopGroup(numberOfThreads: threadCount)

    /// How many loops: the allowed cores, at most NIO's core count, at least one.
    static var threadCount: Int {
        max(1, min(System.coreCount, allowedCores() ?? System.coreCount))
    }

    /// The number of cores in this process's affinity mask, from `/proc/self/status`; nil where unknown.
    static func allowedCores(status path: String = "/proc/self/status") -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return nil }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return count > 0 ? count : nil
    }
}
