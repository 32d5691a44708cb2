import Synchronization
import SwitchboardClient

/// The seqs of the events among `items`.
func seqs(_ items: [SwitchboardClient.Item]) -> [UInt64] {
    items.compactMap { if case .event(let event) = $0 { event.seq } else { nil } }
}

/// A counter shared with `@Sendable` closures.
final class Counter: Sendable {
    private let value = Mutex(0)
    /// Adds one and returns the new value.
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
    /// The value now.
    var count: Int { value.withLock { $0 } }
}
