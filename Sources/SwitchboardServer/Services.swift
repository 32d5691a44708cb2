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
/// answer waiting polls, end SSE streams, and wait — on a signal, not a timer — until every
/// connection is gone and every HTTP request in flight is answered, or the drain timeout passes.
struct DrainService: Service {
    let state: BrokerState
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("draining", metadata: ["connections": "\(state.connectionCount)"])
        state.beginDrain()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [state] in await state.quiet() }
            group.addTask { [timeout] in try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        logger.info("drained", metadata: ["connections_left": "\(state.connectionCount)"])
    }
}
