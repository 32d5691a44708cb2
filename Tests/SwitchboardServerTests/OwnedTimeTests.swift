import HTTPTypes
import NIOCore
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// What reads time reads it from a clock it is given: the publish rate and the poll answer
/// cache, tested by moving a clock instead of sleeping.
@Suite struct OwnedTimeTests {
    @Test func aRateBucketRefillsAsItsClockMoves() throws {
        let clock = TestClock()
        let limiter = PublishRateLimiter(rate: 2, burst: 2, time: MonotonicTime(clock))
        try limiter.take(2, for: "feed")
        #expect(throws: APIError.self) { try limiter.take(1, for: "feed") }
        do {
            try limiter.take(1, for: "feed")
        } catch {
            #expect(error.code == "rate_limited" && error.retryAfter == 1)
        }
        try limiter.take(1, for: "other")  // buckets are per credential
        clock.advance(by: .milliseconds(500))
        try limiter.take(1, for: "feed")  // half a second at 2/s is one event
        #expect(throws: APIError.self) { try limiter.take(1, for: "feed") }
        clock.advance(by: .seconds(60))
        try limiter.take(2, for: "feed")  // refilled to the burst, not beyond
        #expect(throws: APIError.self) { try limiter.take(1, for: "feed") }
    }

    @Test func aSharedPollAnswerLivesItsLifetimeByItsClock() {
        let clock = TestClock()
        let cache = PollAnswerCache(lifetime: .milliseconds(100), time: MonotonicTime(clock))
        let answer = PollAnswerCache.Answer(
            head: HTTPResponse(status: .ok), wire: nil, body: ByteBuffer(string: "{}"), coding: .identity, uncompressedBytes: 2, events: 1, gaps: 0,
            oldestTimestamp: nil
        )
        cache.store(answer, for: "k")
        #expect(cache.lookup("k")?.events == 1)
        clock.advance(by: .milliseconds(99))
        #expect(cache.lookup("k") != nil)
        clock.advance(by: .milliseconds(1))
        #expect(cache.lookup("k") == nil, "an answer older than its lifetime is not shared")
    }
}
