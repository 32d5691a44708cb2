/// Delays between reconnection attempts: exponential backoff with full jitter.
///
/// Attempt `n` (from 0) waits a uniformly random time between `minimum` and
/// `min(maximum, minimum × 2ⁿ)`, so that many clients cut off at once do not come back at once;
/// ``reset()`` starts again at `n = 0` once a connection worked.
struct Backoff: Sendable {
    /// The shortest delay.
    let minimum: Duration
    /// The longest delay.
    let maximum: Duration
    /// Attempts counted since the last reset.
    private(set) var attempt = 0
    /// Picks a number in a range (uniformly, unless a test says otherwise).
    let random: @Sendable (ClosedRange<Double>) -> Double

    init(
        minimum: Duration, maximum: Duration,
        random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) {
        precondition(minimum >= .zero && maximum >= minimum, "0 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.random = random
    }

    /// The delay before the next attempt; each call counts one attempt.
    mutating func next() -> Duration {
        let low = minimum.seconds
        let cap = min(maximum.seconds, low * Double(1 << min(attempt, 62)))
        attempt += 1
        return .seconds(random(low...max(low, cap)))
    }

    /// Start again from the shortest delay.
    mutating func reset() { attempt = 0 }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// The connection's life, with no sockets: when to connect, when to wait and how long, and when
/// to stop for good.
///
/// The client runs one connection at a time. An attempt that fails in a way retrying can change
/// (network, 429, 503) and a connection that ends (dropped, closed by the broker with anything
/// but 1008) lead to a reconnection after the backoff delay, or at once when the client itself
/// closed the connection to reconnect (a token refresh). A refused upgrade that retrying cannot
/// change (400, 401, 403, 404), a close with 1008 (credentials expired, closed by an operator)
/// and ``close()`` by the application stop it: the state becomes `closed` and stays there.
struct ConnectionMachine: Sendable {
    /// Where the connection is.
    enum Phase: Sendable, Equatable {
        /// Nothing started yet.
        case idle
        /// Connecting; `attempt` counts attempts from 1, so a late upgrade of an attempt given up
        /// on (open timeout) is told apart from the current one.
        case connecting(attempt: Int)
        /// Connected; `generation` counts connections from 1.
        case connected(generation: Int)
        /// Waiting before the next attempt.
        case waiting
        /// Final; `error` says why when the broker refused.
        case closed(error: SwitchboardError?)
    }

    /// How a connection attempt or a connection ended.
    enum Ending: Sendable, Equatable {
        /// The attempt failed before the upgrade answered (network, timeout, TLS).
        case unreachable
        /// The upgrade was refused with this HTTP status and error body (decoded).
        case refused(status: Int, error: SwitchboardError)
        /// The connection ended; `closeCode` is the broker's close code, if it sent one.
        case ended(closeCode: UInt16?, reason: String?)
    }

    /// What the client does next.
    enum Decision: Sendable, Equatable {
        /// Connect again after `delay` (zero: at once).
        case reconnect(after: Duration)
        /// Stop; the phase is now `closed`.
        case stop(SwitchboardError?)
    }

    /// Close codes after which reconnecting is pointless: 1008 (credentials expired or closed by
    /// an operator).
    static let stopCodes: Set<UInt16> = [1008]
    /// Upgrade answers that retrying cannot change.
    static let fatalStatuses: Set<Int> = [400, 401, 403, 404]

    private(set) var phase: Phase = .idle
    private(set) var backoff: Backoff
    private var generation = 0
    private var attempts = 0
    private var reconnectAtOnce = false

    init(backoff: Backoff) { self.backoff = backoff }

    /// The public state for this phase.
    var state: SwitchboardClient.ConnectionState {
        switch phase {
        case .idle, .waiting: .disconnected
        case .connecting: .connecting
        case .connected: .connected
        case .closed: .closed
        }
    }

    /// Whether the phase is final.
    var isClosed: Bool { if case .closed = phase { true } else { false } }

    /// Begin an attempt (from idle or after waiting): returns its number, or `nil` when closed or
    /// already busy.
    mutating func startAttempt() -> Int? {
        switch phase {
        case .idle, .waiting:
            attempts += 1
            phase = .connecting(attempt: attempts)
            return attempts
        case .connecting, .connected, .closed:
            return nil
        }
    }

    /// The upgrade of `attempt` succeeded: returns the new connection's generation, or `nil` when
    /// that attempt is no longer the current one (closed meanwhile, or given up on).
    mutating func connected(attempt: Int) -> Int? {
        guard case .connecting(attempt) = phase else { return nil }
        generation += 1
        backoff.reset()
        phase = .connected(generation: generation)
        return generation
    }

    /// The client is closing the current connection itself to reconnect at once (token refresh,
    /// undecodable frame): the next ``ended(_:)`` reconnects with no delay.
    mutating func reconnectSoon() { reconnectAtOnce = true }

    /// An attempt or a connection ended: decide what follows.
    mutating func ended(_ ending: Ending) -> Decision {
        if case .closed(let error) = phase { return .stop(error) }
        switch ending {
        case .refused(let status, let error) where Self.fatalStatuses.contains(status):
            phase = .closed(error: error)
            return .stop(error)
        case .ended(let code?, let reason) where Self.stopCodes.contains(code):
            let error = SwitchboardError.closedByBroker(code: code, reason: reason)
            phase = .closed(error: error)
            return .stop(error)
        case .unreachable, .refused, .ended:
            phase = .waiting
            if reconnectAtOnce {
                reconnectAtOnce = false
                return .reconnect(after: .zero)
            }
            return .reconnect(after: backoff.next())
        }
    }

    /// The application closed the client. Returns true if this call closed it.
    @discardableResult
    mutating func close() -> Bool {
        if isClosed { return false }
        phase = .closed(error: nil)
        return true
    }

    /// The client stopped for a reason of its own (a failing token provider counts as unreachable,
    /// so this is for bugs and the like).
    mutating func fail(_ error: SwitchboardError) {
        if !isClosed { phase = .closed(error: error) }
    }
}
