/// Bounds the WebSocket and SSE connections open at once, in total and per remote IP address.
///
/// It counts what ``BrokerState`` has registered, so it is checked before an upgrade (or before
/// an SSE stream starts) and the connection registers once it runs. Upgrades racing each other
/// may overshoot a limit by the few that were checked but not yet registered.
struct ConnectionLimiter: Sendable {
    /// The registry of open connections.
    let state: BrokerState
    /// The most connections in total.
    let maxTotal: Int
    /// The most connections from one IP address.
    let maxPerIP: Int

    /// Throws 429 `limit_reached` if a new connection from `remote` (`ip:port`) would exceed a limit.
    func admit(remote: String) throws(APIError) {
        let ip = Connection.ip(of: remote)
        let (total, fromIP) = state.streamingConnectionCounts(ip: ip)
        if total >= maxTotal {
            throw APIError(.limitReached, message: "The broker has reached its limit of \(maxTotal) connections.")
        }
        if fromIP >= maxPerIP {
            throw APIError(.limitReached, message: "Your address has reached its limit of \(maxPerIP) connections.")
        }
    }
}

extension Connection {
    /// The IP address part of a remote address: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`.
    static func ip(of remote: String) -> String {
        if remote.hasPrefix("["), let end = remote.firstIndex(of: "]") {
            return String(remote[remote.index(after: remote.startIndex)..<end])
        }
        if let colon = remote.lastIndex(of: ":"), remote.firstIndex(of: ":") == colon {
            return String(remote[..<colon])
        }
        return remote
    }

    /// The IP address this connection comes from.
    var remoteIP: String { Self.ip(of: remote) }
}
