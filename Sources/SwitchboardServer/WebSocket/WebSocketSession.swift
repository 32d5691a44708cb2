import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import SwitchboardCore

/// One WebSocket connection: reads the client's requests and writes what its queue holds.
///
/// Reading and writing run side by side. The engine never waits on this connection: it
/// pushes into the ``Subscriber`` queue, and a ``WebSocketChannelWriter`` drains it onto the
/// channel from the event loop, so a slow socket only fills this connection's bounded queue.
/// The session's own writer side only waits for a queued close and runs it through the
/// WebSocket handler.
struct WebSocketSession {
    let engine: any TopicEngine
    let state: BrokerState
    let metrics: BrokerMetrics
    let subscriber: Subscriber
    /// The upgraded connection's channel, which the fan-out writes to.
    let channel: any Channel
    let upgrade: UpgradeRequest
    let remote: String
    /// Who connected; every `subscribe` op is checked against it.
    let principal: Principal
    /// Checks the `subscribe` grant.
    let access: AccessControl
    let maxMessageBytes: Int
    let logger: Logger

    /// How long to wait for the client's answer to a close the broker sent.
    static let closeWait: Duration = .seconds(5)

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let subscriber = self.subscriber
        let connection = Connection(
            id: subscriber.id, transport: .ws, remote: remote,
            activity: { ConnectionActivity(subscriptions: subscriber.topics, queuedBytes: subscriber.queuedBytes, gaps: subscriber.slowGaps) },
            close: { code, reason in subscriber.close(code: code, reason: reason) }
        )
        state.register(connection)
        connection.logOpened(logger, ["zstd": "\(upgrade.zstd)", "principal": "\(principal.name)"])
        defer {
            state.unregister(connection)
            connection.logClosed(logger)
        }
        // A token with `exp` ends the connection when it expires (close 1008).
        let expiry = principal.timeToExpiry.map { timeLeft in
            Task {
                try await Task.sleep(for: timeLeft)
                subscriber.close(code: 1008, reason: "credentials expired")
            }
        }
        defer { expiry?.cancel() }
        for topic in upgrade.topics {
            await subscribe(topic: topic, start: .live, id: nil)
        }

        do {
            try await runLoops(inbound: inbound, outbound: outbound)
        } catch {
            logger.debug("WebSocket session ended", metadata: ["connection": "\(subscriber.id)", "error": "\(error)"])
        }
        subscriber.finish()
        await engine.remove(subscriber)
    }

    private func runLoops(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let writer = WebSocketChannelWriter(channel: channel, subscriber: subscriber, metrics: metrics)
        writer.start()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await close(outbound, on: writer.closeRequests)
                return false
            }
            group.addTask {
                try await read(inbound)
                return true
            }
            // Whichever side ends first ends the session: the client went away, or the
            // broker sent a close and waits a little for the client's answer.
            let readerEnded = try await group.next() ?? true
            logger.debug("WebSocket loop ended", metadata: ["connection": "\(subscriber.id)", "side": "\(readerEnded ? "reader" : "writer")"])
            if !readerEnded {
                group.addTask {
                    try await Task.sleep(for: Self.closeWait)
                    return true
                }
                _ = try await group.next()
            }
            subscriber.finish()
            group.cancelAll()
        }
    }

    private func read(_ inbound: WebSocketInboundStream) async throws {
        for try await message in inbound.messages(maxSize: maxMessageBytes) {
            switch message {
            case .text(let text):
                await handle(text)
            case .binary:
                subscriber.send(.error(code: "binary_not_accepted", message: "Requests are JSON text frames; binary frames are not accepted.", id: nil))
            }
        }
    }

    private func handle(_ text: String) async {
        switch ClientRequest.parse(text) {
        case .failure(let failure):
            subscriber.send(.error(code: failure.code, message: failure.message, id: failure.id))
        case .success((.subscribe(let topic, let start), let id)):
            await subscribe(topic: topic, start: start, id: id)
        case .success((.unsubscribe(let topic), let id)):
            do {
                try await engine.unsubscribe(subscriber, topic: topic, id: id)
            } catch {
                subscriber.send(.error(code: error.code, message: error.message, id: id))
            }
        }
    }

    private func subscribe(topic: String, start: StartPosition, id: MessageID?) async {
        guard !state.isDraining else {
            subscriber.send(.error(code: "shutting_down", message: "The broker is shutting down.", id: id))
            return
        }
        do throws(APIError) {
            try access.authorize(principal, .subscribe(topic))
        } catch {
            logger.info("subscribe refused", metadata: ["connection": "\(subscriber.id)", "remote": "\(remote)", "topic": "\(topic)", "code": "\(error.code)"])
            subscriber.send(.error(code: error.code, message: error.message, id: id))
            return
        }
        do {
            _ = try await engine.subscribe(subscriber, topic: topic, from: start, id: id)
        } catch {
            subscriber.send(.error(code: error.code, message: error.message, id: id))
        }
    }

    /// Waits for the close the queue asks for (after everything before it was written) and sends it.
    private func close(_ outbound: WebSocketOutboundWriter, on requests: AsyncStream<WebSocketChannelWriter.CloseRequest>) async throws {
        for await request in requests {
            logger.info("closing WebSocket", metadata: [
                "connection": "\(subscriber.id)", "transport": "ws", "remote": "\(remote)", "code": "\(request.code)", "reason": "\(request.reason)",
            ])
            try await outbound.close(WebSocketErrorCode(codeNumber: Int(request.code)), reason: request.reason)
            return
        }
    }
}
