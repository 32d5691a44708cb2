public import Foundation
public import Logging

/// A Switchboard client: one WebSocket connection carrying every subscription, reconnected and
/// resumed until closed, and the HTTP publish helpers.
///
/// ```swift
/// let client = SwitchboardClient(url: URL(string: "http://127.0.0.1:8080")!, token: nil)
/// for try await item in client.subscribe("stocks.AAPL", since: 41, epoch: savedEpoch) {
///     switch item {
///     case .event(let event): print(event.seq, event.text ?? "")
///     case .gap(let gap): print("missed \(gap.from)...\(gap.to)")
///     case .reset(let reset): print("new epoch \(reset.epoch): reload")
///     case .deleted: print("topic deleted")
///     }
/// }
/// ```
///
/// The client connects when something first subscribes (or on ``connect()``). Each subscription
/// keeps `(epoch, seq)` and resubscribes with `since` and `epoch` after every reconnection, so the
/// application gets each event once, in order, and is told of every hole (``Gap``) and restart
/// (``Reset``). Reconnection waits with exponential backoff and full jitter
/// (``Configuration/minReconnectDelay`` to ``Configuration/maxReconnectDelay``). It stops for good
/// after ``close()``, after a close with 1008 (credentials expired, closed by an operator), and
/// after an upgrade refused with 400, 401, 403 or 404: subscriptions then end with the error, and
/// ``error`` holds it. Call ``close()`` when done.
public final class SwitchboardClient: Sendable {
    /// How the client connects, reconnects and detects a dead connection.
    public struct Configuration: Sendable {
        /// What the client asks the broker to compress.
        public enum Compression: Sendable, Equatable {
            /// Subprotocol `switchboard.v1.zstd`: frames of 64 bytes or more come zstd-compressed.
            case zstd
            /// Subprotocol `switchboard.v1`: no compression.
            case none
        }

        /// Compression of event frames (default zstd).
        public var compression: Compression = .zstd
        /// The shortest wait before a reconnection (default 0.5 s).
        public var minReconnectDelay: Duration = .milliseconds(500)
        /// The longest wait before a reconnection (default 30 s).
        public var maxReconnectDelay: Duration = .seconds(30)
        /// How long the connection may go without answering before it is dropped (default 40 s).
        ///
        /// swift-websocket answers the broker's pings inside its reader and does not show them to
        /// the client, so the client pings the broker itself every half of this time and drops a
        /// connection whose ping went unanswered until the next one, then reconnects and resumes.
        public var pingTimeout: Duration = .seconds(40)
        /// How long connecting may take, up to the upgrade's answer (default 10 s).
        public var openTimeout: Duration = .seconds(10)
        /// How long a close handshake may take before the connection is simply dropped (default 5 s).
        public var closeTimeout: Duration = .seconds(5)
        /// The largest WebSocket message accepted from the broker (default 64 MiB).
        public var maxMessageSize: Int = 64 << 20
        /// How long an HTTP request (publish) may take (default 30 s).
        public var requestTimeout: Duration = .seconds(30)
        /// Where the client logs (connections, refusals, undecodable frames).
        public var logger: Logger = Logger(label: "switchboard-client")

        /// The defaults.
        public init() {}
    }

    let core: ClientCore
    let tokens: TokenSource
    let configuration: Configuration
    /// The broker's base URL, `http://host:port[/prefix]`.
    public let url: URL
    let wsURL: String

    /// A client for the broker at `url` (`http://host:port`, `https://` for TLS; a path prefix is
    /// kept; `ws://` and `wss://` are accepted too), with a static `token` or none.
    public convenience init(url: URL, token: String? = nil, configuration: Configuration = .init()) {
        self.init(url: url, token: token, tokenProvider: nil, configuration: configuration)
    }

    /// A client whose credentials come from `tokenProvider`: it is called at every connection and,
    /// for a JWT with `exp`, again before it expires (the client then reconnects with the new token
    /// and resumes, losing nothing). Returning `nil` means no credentials.
    public convenience init(
        url: URL, tokenProvider: @escaping @Sendable () async throws -> String?, configuration: Configuration = .init()
    ) {
        self.init(url: url, token: nil, tokenProvider: tokenProvider, configuration: configuration)
    }

    private init(
        url: URL, token: String?, tokenProvider: (@Sendable () async throws -> String?)?, configuration: Configuration
    ) {
        var configuration = configuration
        if configuration.maxReconnectDelay < configuration.minReconnectDelay {
            configuration.maxReconnectDelay = configuration.minReconnectDelay
        }
        if configuration.minReconnectDelay < .zero { configuration.minReconnectDelay = .zero }
        self.configuration = configuration
        self.tokens = TokenSource(token: token, provider: tokenProvider)
        let (base, ws) = Self.urls(url)
        self.url = base ?? url
        self.wsURL = ws ?? ""
        let backoff = Backoff(minimum: configuration.minReconnectDelay, maximum: configuration.maxReconnectDelay)
        self.core = ClientCore(machine: ConnectionMachine(backoff: backoff), logger: configuration.logger)
        if base == nil {
            core.update { $0.machine.fail(.invalidArgument("url must be the broker's http://host:port, not \(url)")) }
        }
    }

    /// The HTTP base URL and the WebSocket URL for `url`, or nils when it is not usable.
    static func urls(_ url: URL) -> (base: URL?, ws: String?) {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false), components.host != nil else {
            return (nil, nil)
        }
        let secure: Bool
        switch components.scheme?.lowercased() {
        case "http", "ws": secure = false
        case "https", "wss": secure = true
        default: return (nil, nil)
        }
        components.query = nil
        components.fragment = nil
        while components.path.hasSuffix("/") { components.path.removeLast() }
        components.scheme = secure ? "https" : "http"
        let base = components.url
        components.scheme = secure ? "wss" : "ws"
        components.path += "/v1/ws"
        return (base, components.url?.absoluteString)
    }

    /// The connection's current state.
    public var state: ConnectionState { core.connectionState }

    /// Why the client stopped for good (401, close 1008, …), or `nil`.
    public var error: SwitchboardError? { core.error }

    /// The current state, then each change; ends after ``ConnectionState/closed``.
    public var states: AsyncStream<ConnectionState> { core.states() }

    /// Starts connecting (subscribing does this too). Returns at once; follow ``states``.
    public func connect() {
        core.update { state in
            guard state.runTask == nil, !state.machine.isClosed else { return }
            state.runTask = Task { await self.run() }
        }
    }

    /// Subscribes to `topic` and returns the sequence of its items.
    ///
    /// Without `since` or `last`: live events only. `since: S` (with the `epoch` it belongs to):
    /// every buffered event after seq `S`, then live; a stale epoch yields a ``Reset`` first, then
    /// the new epoch's buffer. `last: N`: the N newest buffered events, then live. One subscription
    /// per topic per client; errors (a refused topic, `since` with `last`) are thrown by iteration.
    /// An empty `epoch` counts as none (no epoch is empty).
    public func subscribe(_ topic: String, since: UInt64? = nil, epoch: String? = nil, last: Int? = nil) -> Subscription {
        let epoch = epoch?.isEmpty == true ? nil : epoch
        let subscription = Subscription(topic: topic, since: since, epoch: epoch, core: core)
        if since != nil, last != nil {
            subscription.continuation.finish(throwing: SwitchboardError.invalidArgument("give since or last, not both"))
            return subscription
        }
        if let last, last < 0 {
            subscription.continuation.finish(throwing: SwitchboardError.invalidArgument("last must not be negative"))
            return subscription
        }
        core.add(subscription, resume: ResumeState(topic: topic, since: since, epoch: epoch, last: last))
        connect()
        return subscription
    }

    /// Closes the connection (code 1000) and ends every subscription's iteration. The client does
    /// not reconnect and cannot be used again.
    public func close() async {
        let (task, outbound) = core.update { state in
            state.machine.close()
            return (state.runTask, state.outbound)
        }
        if let outbound {
            outbound.yield(.close(.normalClosure, reason: "client closed"))
        } else {
            task?.cancel()  // connecting or waiting to reconnect: nothing to finish
        }
        if let task {
            let limit = configuration.closeTimeout + .seconds(1)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await task.value }
                group.addTask {
                    try? await Task.sleep(for: limit)
                    task.cancel()  // the broker did not answer the close in time: drop it
                }
                await group.next()
                group.cancelAll()
            }
        }
        core.finishAll(nil)
    }
}
