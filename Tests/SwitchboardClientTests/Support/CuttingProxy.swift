import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on 127.0.0.1 in front of the broker that can cut every connection through it, as a
/// NAT, a load balancer or a lost network would: the client sees its connection die with no close
/// frame, and must notice, reconnect and resume by itself.
final class CuttingProxy: Sendable {
    private struct Pair {
        let client: any Channel
        let broker: any Channel
    }

    private struct State {
        var pairs: [ObjectIdentifier: Pair] = [:]
        var refuse = false
        var frozen = false
    }

    private let state = Mutex(State())
    private let target: Mutex<Int>
    private let server: Mutex<(any Channel)?> = Mutex(nil)

    /// The proxy's port, once started.
    var port: Int { server.withLock { $0?.localAddress?.port ?? 0 } }

    /// `http://127.0.0.1:<port>`, for a client.
    var url: String { "http://127.0.0.1:\(port)" }

    /// A proxy in front of `127.0.0.1:target`.
    init(target: Int) { self.target = Mutex(target) }

    /// Sends new connections to `127.0.0.1:port` from now on (another broker, as after a failover).
    func retarget(_ port: Int) { target.withLock { $0 = port } }

    /// Starts listening on a free port.
    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                if self.state.withLock({ $0.refuse }) {
                    return inbound.close()
                }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: self.target.withLock { $0 })
                    .flatMapThrowing { outbound in
                        try outbound.pipeline.syncOperations.addHandler(Forward(peer: inbound, proxy: self))
                        try inbound.pipeline.syncOperations.addHandler(Forward(peer: outbound, proxy: self))
                        self.state.withLock { $0.pairs[ObjectIdentifier(inbound)] = Pair(client: inbound, broker: outbound) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        server.withLock { $0 = channel }
    }

    /// While true, new connections are accepted and closed at once (the broker looks unreachable).
    func setRefusing(_ refuse: Bool) { state.withLock { $0.refuse = refuse } }

    /// While true, bytes are swallowed in both directions (the connection is silently dead).
    func setFrozen(_ frozen: Bool) { state.withLock { $0.frozen = frozen } }

    var isFrozen: Bool { state.withLock { $0.frozen } }

    /// Cuts every open connection: with a TCP reset when `reset`, else with a plain close of both
    /// sockets. Returns how many were cut.
    @discardableResult
    func cut(reset: Bool) async -> Int {
        let pairs = state.withLock { state in
            let pairs = Array(state.pairs.values)
            state.pairs.removeAll()
            return pairs
        }
        for pair in pairs {
            for channel in [pair.client, pair.broker] {
                if reset, let provider = channel as? any SocketOptionProvider {
                    try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                }
                try? await channel.close().get()
            }
        }
        return pairs.count
    }

    /// The number of connections through the proxy now.
    var open: Int { state.withLock { $0.pairs.count } }

    /// Stops listening and cuts everything.
    func close() async {
        await cut(reset: false)
        let channel = server.withLock { $0 }
        try? await channel?.close().get()
    }

    fileprivate func forget(_ channel: any Channel) {
        state.withLock { $0.pairs[ObjectIdentifier(channel)] = nil }
    }
}

/// Writes what one side reads to the other; closing one side closes the other.
private final class Forward: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let peer: any Channel
    let proxy: CuttingProxy

    init(peer: any Channel, proxy: CuttingProxy) {
        self.peer = peer
        self.proxy = proxy
    }

    // The client side does not read by itself (nothing may arrive before this handler is there):
    // it reads when active and after each read.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if proxy.isFrozen { return }
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy.forget(context.channel)
        proxy.forget(peer)
        peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
