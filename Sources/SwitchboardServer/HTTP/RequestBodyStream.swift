import Hummingbird
import HummingbirdCore
import NIOCore

/// A request body streamed to its route while it arrives (``HTTP1ConnectionHandler`` streams
/// bodies over ``HTTP1ConnectionHandler/smallBodyBytes``): the route reads a `RequestBody`
/// backed by NIO's async sequence producer, and the handler feeds it from the connection,
/// pausing the socket above the high watermark until the route asks for more.
enum RequestBodyStream {
    /// The sequence the route reads.
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Delegate
    >
    /// Where the handler feeds the body.
    typealias Source = Producer.Source

    /// Tells the handler, on its event loop, that the route wants more or let go of the body.
    struct Delegate: NIOAsyncSequenceProducerDelegate {
        let handler: NIOLoopBound<HTTP1ConnectionHandler>
        let loop: any EventLoop
        /// Which of the connection's bodies this is.
        let id: UInt64

        /// The route drained the buffered chunks below the low watermark.
        func produceMore() {
            loop.execute { [handler, id] in handler.value.bodyWanted(id) }
        }

        /// The route stopped reading (or read to the end).
        func didTerminate() {
            loop.execute { [handler, id] in handler.value.bodyAbandoned(id) }
        }
    }

    /// A body for the route and the source the handler feeds.
    static func make(for handler: NIOLoopBound<HTTP1ConnectionHandler>, id: UInt64) -> (RequestBody, Source) {
        let made = Producer.makeSequence(
            elementType: ByteBuffer.self, failureType: (any Error).self, backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8),
            finishOnDeinit: false, delegate: Delegate(handler: handler, loop: handler.eventLoop, id: id)
        )
        return (RequestBody(asyncSequence: made.sequence), made.source)
    }
}
