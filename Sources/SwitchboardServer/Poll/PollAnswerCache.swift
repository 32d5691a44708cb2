import HTTPTypes
import NIOCore
import Synchronization
import SwitchboardCore

/// Encoded poll answers shared by polls that wake up at the same position.
///
/// When one publish wakes thousands of polls waiting at the same cursor, they would all build
/// the same answer; the first builds it and the rest send the same bytes. Sharing is sound
/// because an answer for a position stays true: its events were published after that
/// position, its gaps and resets cannot be undone. An entry lives only ``lifetime``, so a poll
/// is never answered with a view much older than the wake-up it reacts to.
final class PollAnswerCache: Sendable {
    /// An encoded answer, its content coding, and what it holds (for metrics).
    struct Answer: Sendable {
        /// The response head, complete (length, coding, date), for writing straight to a channel.
        var head: HTTPResponse
        /// The whole HTTP/1.1 response as bytes (``head`` and ``body``), shared by every
        /// parked poll it answers (see ``HTTP1ConnectionHandler``); nil for an answer that goes
        /// out through Hummingbird's response path.
        var wire: ByteBuffer?
        /// The body as sent.
        var body: ByteBuffer
        /// The body's content coding.
        var coding: ContentCoding
        /// The body's size before compression.
        var uncompressedBytes: Int
        /// Events in the answer.
        var events: Int
        /// Gaps in the answer.
        var gaps: Int
        /// The receive time of the oldest event, µs since the Unix epoch.
        var oldestTimestamp: Int64?
    }

    private struct Entry {
        var answer: Answer
        var expires: Duration
    }

    /// How long an answer may be shared after it was built.
    let lifetime: Duration
    /// The most answers kept at once.
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])
    private let time: MonotonicTime

    /// A cache whose answers live `lifetime` by `time`.
    init(lifetime: Duration = .milliseconds(100), capacity: Int = 1024, time: MonotonicTime = .continuous) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.time = time
    }

    /// The answer kept for `key`, if it is still fresh.
    func lookup(_ key: String) -> Answer? {
        let now = time.now
        guard let hit = entries.withLock({ $0[key] }), hit.expires > now else { return nil }
        return hit.answer
    }

    /// Keeps `answer` for `key` for ``lifetime``.
    func store(_ answer: Answer, for key: String) {
        let now = time.now
        entries.withLock { entries in
            if entries.count >= capacity { entries = entries.filter { $0.value.expires > now } }
            if entries.count < capacity { entries[key] = Entry(answer: answer, expires: now + lifetime) }
        }
    }
}
