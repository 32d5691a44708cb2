import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

extension SwitchboardClient {
    /// The connection loop: connect, serve, decide (``ConnectionMachine``), wait, again.
    func run() async {
        while true {
            guard let attempt = core.update({ $0.machine.startAttempt() }) else { break }
            let ending: ConnectionMachine.Ending
            do {
                let token = try await tokens.fresh()
                ending = await connectOnce(token: token, attempt: attempt)
            } catch {
                configuration.logger.info("token provider failed", metadata: ["error": "\(error)"])
                ending = .unreachable
            }
            let decision = core.update { $0.machine.ended(ending) }
            switch decision {
            case .stop(let error):
                if let error { configuration.logger.warning("stopped for good", metadata: ["error": "\(error)"]) }
                core.finishAll(error)
                return
            case .reconnect(let delay):
                configuration.logger.debug("reconnecting", metadata: ["after": "\(delay)", "ending": "\(ending)"])
                // close() cancels the wait; the next turn finds the machine closed.
                if delay > .zero { try? await Task.sleep(for: delay) }
            }
        }
        core.finishAll(core.error)
    }

    /// One connection, from the upgrade to its end, given up on when it is not open within
    /// ``Configuration/openTimeout``.
    ///
    /// swift-websocket waits for the upgrade's answer on a future that cancellation does not reach,
    /// so an attempt given up on is left to end by itself: its connection, should it open after
    /// all, is closed at once (``ClientCore/attach(_:attempt:)`` refuses a stale attempt).
    private func connectOnce(token: String?, attempt: Int) async -> ConnectionMachine.Ending {
        let attached = Flag()
        let outcome = Once<ConnectionMachine.Ending>()
        let openTimeout = configuration.openTimeout
        let run = Task { outcome.set(await self.runConnection(token: token, attempt: attempt, attached: attached)) }
        let timer = Task {
            try await Task.sleep(for: openTimeout)
            if !attached.isSet, outcome.set(.unreachable) {
                self.configuration.logger.info("connection not open in time", metadata: ["url": "\(self.wsURL)"])
                run.cancel()
            }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.onValue { continuation.resume(returning: $0) }
            }
        } onCancel: {
            // close() while connecting: stop waiting (the machine is closed, so a late upgrade closes).
            run.cancel()
            outcome.set(.unreachable)
        }
    }

    /// Runs one WebSocket connection to its end.
    private func runConnection(token: String?, attempt: Int, attached: Flag) async -> ConnectionMachine.Ending {
        let headers = upgradeHeaders(token: token)
        var wsConfiguration = WebSocketClientConfiguration(
            maxFrameSize: configuration.maxMessageSize,
            additionalHeaders: headers,
            closeTimeout: configuration.closeTimeout,
            autoPing: .enabled(timePeriod: configuration.pingTimeout / 2)
        )
        wsConfiguration.validateUTF8 = true
        let client = WebSocketClient(url: wsURL, configuration: wsConfiguration, logger: configuration.logger) { inbound, outbound, _ in
            try await self.serve(inbound: inbound, outbound: outbound, attempt: attempt, attached: attached)
        }
        do {
            let close = try await client.run()
            return .ended(closeCode: close.map { UInt16(webSocketErrorCode: $0.closeCode) }, reason: close?.reason)
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            return await diagnoseRefusal(headers: headers)
        } catch {
            if attached.isSet { return .ended(closeCode: nil, reason: "\(error)") }
            configuration.logger.info("connecting failed", metadata: ["url": "\(wsURL)", "error": "\(error)"])
            return .unreachable
        }
    }

    /// `Authorization` (when there is a token) and the one subprotocol asked for: swift-websocket
    /// does not tell which subprotocol the broker picked, so the client offers exactly one.
    private func upgradeHeaders(token: String?) -> HTTPFields {
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = configuration.compression == .zstd ? "switchboard.v1.zstd" : "switchboard.v1"
        if let token { headers[.authorization] = "Bearer \(token)" }
        return headers
    }

    /// The upgrade was refused. swift-websocket does not expose the refusal's status, so the client
    /// asks the same URL with the same headers over plain HTTP: the broker runs the same checks
    /// before answering `426 upgrade_required`, so its status says why (401, 403, 429, 503, …).
    private func diagnoseRefusal(headers: HTTPFields) async -> ConnectionMachine.Ending {
        let httpURL = wsURL.replacingOccurrences(of: "ws://", with: "http://").replacingOccurrences(of: "wss://", with: "https://")
        var request = HTTPClientRequest(url: httpURL)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            if status == 426 || status == 101 || status < 400 { return .unreachable }  // nothing wrong now: retry
            let error = ErrorBody.error(status: status, body: Data(buffer: body))
            configuration.logger.info("upgrade refused", metadata: ["status": "\(status)", "error": "\(error)"])
            return .refused(status: status, error: error)
        } catch {
            return .unreachable
        }
    }

    /// Serves one upgraded connection: sends the subscriptions, reads until the broker closes or
    /// the connection dies, and closes it when the application or a token refresh asks.
    private func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, attempt: Int, attached: Flag
    ) async throws {
        let (outgoing, sender) = AsyncStream.makeStream(of: Outgoing.self)
        guard let generation = core.attach(sender, attempt: attempt) else {
            try await outbound.close(.normalClosure, reason: "client closed")
            return
        }
        attached.set()
        defer { core.detach(generation) }
        let closeTimeout = configuration.closeTimeout
        let maxSize = configuration.maxMessageSize
        let refreshAt = tokens.refreshAt
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in outgoing {
                    switch message {
                    case .text(let text):
                        try await outbound.write(.text(text))
                    case .close(let code, let reason):
                        try await outbound.close(code, reason: reason)
                        try await Task.sleep(for: closeTimeout)
                        return  // no answer to the close: the reader is cancelled
                    }
                }
            }
            group.addTask {
                var messages = inbound.messages(maxSize: maxSize).makeAsyncIterator()
                while let message = try await messages.next() {
                    switch message {
                    case .text(let text):
                        self.core.received(text: text, generation: generation)
                    case .binary(let buffer):
                        if !self.core.received(binary: buffer, generation: generation) {
                            self.core.update { $0.machine.reconnectSoon() }
                            sender.yield(.close(.protocolError, reason: "undecodable frame"))
                        }
                    }
                }
            }
            if let refreshAt {
                group.addTask {
                    let wait = max(0, refreshAt.timeIntervalSinceNow)
                    try await Task.sleep(for: .seconds(wait))
                    self.configuration.logger.info("token about to expire: reconnecting with a fresh one")
                    self.core.update { $0.machine.reconnectSoon() }
                    sender.yield(.close(.normalClosure, reason: "token refresh"))
                    while true { try await Task.sleep(for: .seconds(3600)) }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// A flag set once, read from another task.
final class Flag: Sendable {
    private let value = Mutex(false)
    /// Whether ``set()`` was called.
    var isSet: Bool { value.withLock { $0 } }
    /// Sets the flag.
    func set() { value.withLock { $0 = true } }
}

/// A value set once; whoever waits for it is called once, with the first value.
final class Once<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiter: (@Sendable (Value) -> Void)?)>((nil, nil))

    /// Sets the value unless one was set; returns whether this call set it.
    @discardableResult
    func set(_ value: Value) -> Bool {
        let waiter: (@Sendable (Value) -> Void)?? = state.withLock { state in
            guard state.value == nil else { return .none }
            state.value = value
            return .some(state.waiter)
        }
        guard case .some(let waiter) = waiter else { return false }
        waiter?(value)
        return true
    }

    /// Calls `waiter` with the value, now if it is set, else when it is.
    func onValue(_ waiter: @escaping @Sendable (Value) -> Void) {
        let value: Value? = state.withLock { state in
            if state.value == nil { state.waiter = waiter }
            return state.value
        }
        if let value { waiter(value) }
    }
}
