import Synchronization

extension SwitchboardClient {
    /// A subscription to one topic, kept across reconnections: an `AsyncSequence` of ``Item``.
    ///
    /// ```swift
    /// for try await item in client.subscribe("stocks.AAPL") {
    ///     if case .event(let event) = item { print(event.seq, event.text ?? "") }
    /// }
    /// ```
    /// Each event is handed out once, in seq order; a hole is always announced by a ``Gap`` and a
    /// new epoch by a ``Reset``. Iteration ends after ``unsubscribe()``, after
    /// ``Item/deleted(topic:)``, or when the application closes the client; it throws when the
    /// broker refused the subscription (``SwitchboardError/broker(code:message:status:index:)``)
    /// or the client was refused for good (``SwitchboardError/unauthorized(message:)``,
    /// ``SwitchboardError/closedByBroker(code:reason:)``). Iterate it from one task at a time.
    /// Leaving the loop (`break`, `return`, a throw) or cancelling its task unsubscribes: items
    /// wait in an unbounded buffer until iteration takes them, so a subscription nobody iterates
    /// must not stay open.
    public final class Subscription: AsyncSequence, Sendable {
        /// What iteration yields.
        public typealias Element = Item

        /// The topic.
        public let topic: String
        let stream: AsyncThrowingStream<Delivery, any Error>
        let continuation: AsyncThrowingStream<Delivery, any Error>.Continuation
        private let handedOut: Mutex<Position>
        let core: ClientCore

        init(topic: String, since: UInt64?, epoch: String?, core: ClientCore) {
            self.topic = topic
            self.core = core
            self.handedOut = Mutex(Position(epoch: epoch, seq: since))
            (stream, continuation) = AsyncThrowingStream.makeStream(of: Delivery.self)
        }

        /// What the subscription's buffer holds: items with the position after each, and the start
        /// position the broker confirmed (so that a live subscription has one before its first event).
        enum Delivery: Sendable {
            case item(Item, Position)
            case position(Position)
        }

        /// `(epoch, seq)` after the last item iteration handed out (before the first: where the
        /// broker confirmed the subscription starts; `seq` is `nil` until then): resume from here later with
        /// `subscribe(topic, since: position.seq, epoch: position.epoch)`.
        public var position: Position { handedOut.withLock { $0 } }

        /// Ends the subscription: the broker stops sending its events, and iteration ends once the
        /// items already received have been read.
        public func unsubscribe() async {
            await core.unsubscribe(self)
        }

        /// Creates the iterator (one per subscription).
        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: stream.makeAsyncIterator(), subscription: self, lifetime: Lifetime(self))
        }

        /// Unsubscribes when the last copy of the iterator goes away: the application left its loop.
        final class Lifetime: Sendable {
            let subscription: Subscription

            init(_ subscription: Subscription) { self.subscription = subscription }

            deinit { subscription.core.abandon(subscription) }
        }

        /// Iterates a subscription's items, recording the position of each.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<Delivery, any Error>.AsyncIterator
            let subscription: Subscription
            let lifetime: Lifetime

            /// The next item, or `nil` when the subscription ended.
            public mutating func next() async throws -> Item? {
                while let delivery = try await base.next() {
                    switch delivery {
                    case .item(let item, let position):
                        subscription.handedOut.withLock { $0 = position }
                        return item
                    case .position(let position):
                        subscription.handedOut.withLock { $0 = position }
                    }
                }
                return nil
            }
        }
    }
}
