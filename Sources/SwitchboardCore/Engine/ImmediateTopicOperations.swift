/// The part of a topic engine that answers without waiting: publishes, reads and
/// subscriptions that never suspend. A transport that finds them (``TopicEngine/immediate``)
/// publishes, answers waiting polls and handles a WebSocket's requests right on the
/// connection's event loop, with no task; one that does not runs the same work through the
/// engine's `async` requirements in a task.
///
/// The in-memory engine has them (its state is in this process, behind short locks). An
/// engine whose state lives elsewhere (Redis) does not: its publishes and reads wait on the
/// network, so it declares `immediate` nil and every transport still works, a little slower.
public protocol ImmediateTopicOperations: Sendable {
    /// ``TopicEngine/publish(_:)`` without suspending.
    func publishNow(_ request: PublishRequest) throws(EngineError) -> PublishReceipt
    /// ``TopicEngine/read(topic:from:limit:create:)`` without suspending.
    func readNow(topic: String, from start: StartPosition, limit: Int, create: Bool) throws(EngineError) -> TopicRead?
    /// ``TopicEngine/watch(_:topic:epoch:after:)`` without suspending.
    func watchNow(_ waiter: TopicWaiter, topic: String, epoch: String, after: UInt64) -> Bool
    /// ``TopicEngine/unwatch(_:topic:)`` without suspending.
    func unwatchNow(_ waiter: TopicWaiter, topic: String)
    /// ``TopicEngine/subscribe(_:topic:from:id:)`` without suspending.
    func subscribeNow(_ subscriber: Subscriber, topic: String, from start: StartPosition, id: MessageID?) throws(EngineError) -> SubscribeReceipt
    /// ``TopicEngine/unsubscribe(_:topic:id:)`` without suspending.
    func unsubscribeNow(_ subscriber: Subscriber, topic: String, id: MessageID?) throws(EngineError)
    /// ``TopicEngine/remove(_:)`` without suspending.
    func removeNow(_ subscriber: Subscriber)
}

extension InMemoryTopicEngine: ImmediateTopicOperations {
    /// The in-memory engine answers everything without waiting.
    public var immediate: (any ImmediateTopicOperations)? { self }

    public func publishNow(_ request: PublishRequest) throws(EngineError) -> PublishReceipt {
        try publish(request)
    }

    public func readNow(topic: String, from start: StartPosition, limit: Int, create: Bool) throws(EngineError) -> TopicRead? {
        try read(topic: topic, from: start, limit: limit, create: create)
    }

    public func watchNow(_ waiter: TopicWaiter, topic: String, epoch: String, after: UInt64) -> Bool {
        watch(waiter, topic: topic, epoch: epoch, after: after)
    }

    public func unwatchNow(_ waiter: TopicWaiter, topic: String) {
        unwatch(waiter, topic: topic)
    }

    public func subscribeNow(_ subscriber: Subscriber, topic: String, from start: StartPosition, id: MessageID?) throws(EngineError) -> SubscribeReceipt {
        try subscribe(subscriber, topic: topic, from: start, id: id)
    }

    public func unsubscribeNow(_ subscriber: Subscriber, topic: String, id: MessageID?) throws(EngineError) {
        try unsubscribe(subscriber, topic: topic, id: id)
    }

    public func removeNow(_ subscriber: Subscriber) {
        remove(subscriber)
    }
}
