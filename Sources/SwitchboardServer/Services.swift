import Logging
import ServiceLifecycle
import SwitchboardCore

/// Drops idle topics and applies age limits on a timer.
struct IdleTopicSweeper: Service {
    let engine: InMemoryTopicEngine
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                engine.sweep()
            }
        }
    }
}

/// Waits for graceful shutdown, then drains: refuse new work, close WebSockets with 1001,
/// and wait until they are gone or the drain timeout passes.
struct DrainService: Service {
    let state: BrokerState
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("draining", metadata: ["connections": "\(state.connectionCount)"])
        state.beginDrain()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while state.connectionCount > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.info("drained", metadata: ["connections_left": "\(state.connectionCount)"])
    }
}
