import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route: Hummingbird's core storage, the WebSocket handler
/// reference for upgrades, and the peer's address for logs and operators.
struct BrokerRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The remote address as text, e.g. `127.0.0.1:53422`.
    let remoteAddress: String
    /// The connection's event loop, for cheap timers (a waiting poll's timeout, SSE heartbeats).
    let eventLoop: any EventLoop
    /// The connection's channel, whose pipeline a waiting poll parks on (see `PollParkingHandler`).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.eventLoop = source.channel.eventLoop
        self.channel = source.channel
        if let address = source.channel.remoteAddress, let ip = address.ipAddress, let port = address.port {
            self.remoteAddress = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } else {
            self.remoteAddress = "unknown"
        }
    }
}
