import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// The listening socket: accepts connections and gives each a ``BrokerChannel`` pipeline.
///
/// This replaces Hummingbird's `Application`/`Server` for one reason, measured (issue 13,
/// item 9): its server hands every accepted connection through an `NIOAsyncChannel` to a
/// child task, two hops between the event loop and the cooperative pool per connection,
/// although our pipeline runs the connection on the event loop and the task returns at once.
/// Here the pipeline is set up in the child channel initializer on the connection's own event
/// loop and no task exists per connection. The socket options are Hummingbird's: a backlog of
/// 256, `SO_REUSEADDR`, remote half-closure allowed (the connection state machine answers a
/// half-closed client).
///
/// On graceful shutdown, which the service group delivers after the drain service has run,
/// the listening socket closes and every connection still open is told to quiesce (NIO's
/// `ServerQuiescingHelper`); the service returns when they have all closed.
struct BrokerServer: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let channel: BrokerChannel
    let group: any EventLoopGroup
    let logger: Logger
    /// Called once the socket listens, with the port it got (the asked one, or the kernel's pick for 0).
    let onListening: @Sendable (_ port: Int) async -> Void

    /// What the service group logs of it (the derived description would print the whole configuration).
    var description: String { "BrokerServer(\(host):\(port))" }

    func run() async throws {
        let quiescing = ServerQuiescingHelper(group: group)
        let (channel, logger) = (self.channel, self.logger)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .serverChannelInitializer { server in
                server.eventLoop.makeCompletedFuture {
                    try server.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: server))
                }
            }
            .childChannelInitializer { connection in
                channel.setup(channel: connection, logger: logger)
            }
            .bind(host: host, port: port)
            .get()
        let port = server.localAddress?.port ?? port
        logger.info("listening", metadata: ["host": "\(host)", "port": "\(port)"])
        await onListening(port)
        // Until the service group shuts down gracefully (or is cancelled), then quiesce.
        try? await gracefulShutdown()
        let closed = group.any().makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        try await closed.futureResult.get()
    }
}
