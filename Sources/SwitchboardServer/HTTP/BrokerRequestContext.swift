import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage, the peer's address for
/// logs and operators, and the connection's event loop.
struct BrokerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The remote address as text, e.g. `127.0.0.1:53422`.
    let remoteAddress: String
    /// The connection's event loop, for cheap timers (a waiting poll's timeout, SSE heartbeats).
    let eventLoop: any EventLoop

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.eventLoop = source.channel.eventLoop
        self.remoteAddress = Self.describe(source.channel.remoteAddress)
    }

    /// A peer's address as text, e.g. `127.0.0.1:53422` or `[::1]:53422`.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "unknown" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
