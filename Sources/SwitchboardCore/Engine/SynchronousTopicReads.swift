/// A topic engine whose reads never suspend, so that a waiting reader can be woken and
/// answered right on its connection's event loop, without a task.
///
/// The requirements are ``TopicEngine``'s read side without `async`.
public protocol SynchronousTopicReads: TopicEngine {
    /// ``TopicEngine/read(topic:from:limit:create:)`` without suspending.
    func readNow(topic: String, from start: StartPosition, limit: Int, create: Bool) throws(EngineError) -> TopicRead?
    /// ``TopicEngine/watch(_:topic:epoch:after:)`` without suspending.
    func watchNow(_ waiter: TopicWaiter, topic: String, epoch: String, after: UInt64) -> Bool
    /// ``TopicEngine/unwatch(_:topic:)`` without suspending.
    func unwatchNow(_ waiter: TopicWaiter, topic: String)
}

extension InMemoryTopicEngine: SynchronousTopicReads {
    public func readNow(topic: String, from start: StartPosition, limit: Int, create: Bool) throws(EngineError) -> TopicRead? {
        try read(topic: topic, from: start, limit: limit, create: create)
    }

    public func watchNow(_ waiter: TopicWaiter, topic: String, epoch: String, after: UInt64) -> Bool {
        watch(waiter, topic: topic, epoch: epoch, after: after)
    }

    public func unwatchNow(_ waiter: TopicWaiter, topic: String) {
        unwatch(waiter, topic: topic)
    }
}
