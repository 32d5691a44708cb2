/// A topic engine whose single publish never suspends, so that a publish can be taken and
/// answered right on its connection's event loop, without a task (the in-memory engine; a
/// Redis-backed engine would not conform, and its publishes go through the router).
public protocol SynchronousPublishing: TopicEngine {
    /// ``TopicEngine/publish(_:)`` without suspending.
    func publishNow(_ request: PublishRequest) throws(EngineError) -> PublishReceipt
}

extension InMemoryTopicEngine: SynchronousPublishing {
    public func publishNow(_ request: PublishRequest) throws(EngineError) -> PublishReceipt {
        try publish(request)
    }
}
