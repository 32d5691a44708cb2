import NIOCore
import Testing
@testable import SwitchboardCore

@Suite struct RingBufferTests {
    func payload(_ size: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: size) }

    @Test func seqStartsAtOneWithNoHoles() {
        var ring = RingBuffer(limits: RingLimits(capacity: 3))
        #expect(ring.newestSeq == 0)
        #expect(ring.oldestSeq == 1)
        let seqs = (0..<5).map { ring.append(payload: payload(1), contentType: "t", ts: Int64($0)).seq }
        #expect(seqs == [1, 2, 3, 4, 5])
    }

    @Test func aSmallSliceOfABigReadBufferIsStoredOnItsOwn() {
        var ring = RingBuffer(limits: RingLimits(capacity: 10))
        var read = ByteBuffer(repeating: 0x62, count: 65_536)  // a grown receive buffer, many requests in it
        let body = read.readSlice(length: 150)!
        let small = payload(3000)
        let stored = ring.append(payload: body, contentType: "t", ts: 0).payload
        #expect(stored == body, "the same bytes")
        #expect(stored.storageCapacity < 4096, "not the 64 KiB it was read into: \(stored.storageCapacity)")
        #expect(ring.append(payload: small, contentType: "t", ts: 1).payload.storageCapacity == small.storageCapacity, "a buffer of its own is kept as it is")
    }

    @Test func evictsByCountFromTheOldEnd() {
        var ring = RingBuffer(limits: RingLimits(capacity: 3))
        for i in 0..<10 { ring.append(payload: payload(1), contentType: "t", ts: Int64(i)) }
        #expect(ring.count == 3)
        #expect(ring.oldestSeq == 8)
        #expect(ring.events(after: 0).map(\.seq) == [8, 9, 10])
        #expect(ring.evictedCount == 7)
    }

    @Test func evictsByBytesButKeepsTheNewest() {
        var ring = RingBuffer(limits: RingLimits(capacity: 100, maxBytes: 100))
        for i in 0..<4 { ring.append(payload: payload(30), contentType: "t", ts: Int64(i)) }
        #expect(ring.bufferedBytes == 90)
        ring.append(payload: payload(30), contentType: "t", ts: 5)
        #expect(ring.bufferedBytes == 90)
        #expect(ring.oldestSeq == 3)
        // An event larger than the whole bound still stays, alone.
        ring.append(payload: payload(500), contentType: "t", ts: 6)
        #expect(ring.count == 1)
        #expect(ring.newest?.seq == 6)
    }

    @Test func evictsByAgeButKeepsTheNewest() {
        var ring = RingBuffer(limits: RingLimits(capacity: 100, ttlSeconds: 10))
        ring.append(payload: payload(1), contentType: "t", ts: 0)
        ring.append(payload: payload(1), contentType: "t", ts: 5_000_000)
        ring.append(payload: payload(1), contentType: "t", ts: 12_000_000)
        #expect(ring.events(after: 0).map(\.seq) == [2, 3])
        ring.evict(now: 100_000_000)
        #expect(ring.events(after: 0).map(\.seq) == [3])
    }

    @Test func shrinkingLimitsEvictsAtOnce() {
        var ring = RingBuffer(limits: RingLimits(capacity: 10))
        for i in 0..<10 { ring.append(payload: payload(1), contentType: "t", ts: Int64(i)) }
        ring.setLimits(RingLimits(capacity: 4), now: 10)
        #expect(ring.oldestSeq == 7)
        #expect(ring.count == 4)
    }

    @Test func idempotencyKeysLiveAsLongAsTheirEvent() {
        var ring = RingBuffer(limits: RingLimits(capacity: 2))
        ring.append(payload: payload(1), contentType: "t", ts: 1, idempotencyKey: "k1")
        #expect(ring.event(idempotencyKey: "k1")?.seq == 1)
        ring.append(payload: payload(1), contentType: "t", ts: 2)
        #expect(ring.event(idempotencyKey: "k1")?.seq == 1)
        ring.append(payload: payload(1), contentType: "t", ts: 3)
        #expect(ring.event(idempotencyKey: "k1") == nil)
    }

    @Test func eventsAfterHonoursLimitAndBounds() {
        var ring = RingBuffer(limits: RingLimits(capacity: 5))
        for i in 0..<8 { ring.append(payload: payload(1), contentType: "t", ts: Int64(i)) }
        #expect(ring.events(after: 0, limit: 2).map(\.seq) == [4, 5])
        #expect(ring.events(after: 6).map(\.seq) == [7, 8])
        #expect(ring.events(after: 8).isEmpty)
        #expect(ring.events(after: 100).isEmpty)
    }

    @Test func topicNames() {
        for good in ["a", "stocks.AAPL", "nba.game.1234", "A_b-c.d", String(repeating: "x", count: 128)] {
            #expect(TopicName.isValid(good), "\(good)")
        }
        for bad in ["", ".a", "a.", "a..b", "a b", "a/b", "é", String(repeating: "x", count: 129), "a.*"] {
            #expect(!TopicName.isValid(bad), "\(bad)")
        }
        #expect(TopicName.isValidIdempotencyKey("abc-._~123"))
        #expect(!TopicName.isValidIdempotencyKey(""))
        #expect(!TopicName.isValidIdempotencyKey("a b"))
        #expect(!TopicName.isValidIdempotencyKey(String(repeating: "k", count: 129)))
    }

    @Test func epochsAreURLSafeAndDistinct() {
        let a = Epoch.random(), b = Epoch.random()
        #expect(a != b)
        #expect(a.count <= 32 && a.utf8.allSatisfy(TopicName.isURLSafe))
    }

    /// An epoch is its generator's two words written in base 62, least significant digit first.
    @Test func anEpochIsTwoWordsInBase62() {
        struct Words: RandomNumberGenerator {
            var words: [UInt64]
            mutating func next() -> UInt64 { words.removeFirst() }
        }
        var zero = Words(words: [0, 0])
        #expect(Epoch.random(using: &zero) == "AAAAAAAAAAAAAAAA")
        var small = Words(words: [0, 61 + 62 * 1])  // digits 61 then 1
        #expect(Epoch.random(using: &small) == "9BAAAAAAAAAAAAAA")
        var high = Words(words: [1, 0])  // 2^64, written in base 62 by Python for this test
        #expect(Epoch.random(using: &high) == "QiRKGBkRq8VAAAAA")
        var ones = Words(words: [.max, .max])
        #expect(Epoch.random(using: &ones).count == 16)
    }
}

@Suite struct ReplayPlanTests {
    @Test func liveStartsAfterTheNewest() {
        #expect(ReplayPlan.make(start: .live, oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 9, reset: false))
    }

    @Test func sinceInsideTheBufferHasNoGap() {
        #expect(ReplayPlan.make(start: .since(6, epoch: "e"), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 6, reset: false))
        #expect(ReplayPlan.make(start: .since(4, epoch: nil), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 4, reset: false))
    }

    @Test func sinceBeforeTheBufferNamesTheEvictedRange() {
        #expect(ReplayPlan.make(start: .since(1, epoch: nil), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: 2...4, after: 1, reset: false))
    }

    @Test func staleEpochRestartsAtTheBufferStart() {
        #expect(ReplayPlan.make(start: .since(7, epoch: "old"), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: 1...4, after: 0, reset: true))
        #expect(ReplayPlan.make(start: .since(7, epoch: "old"), oldest: 1, newest: 3, epoch: "e") == ReplayPlan(gap: nil, after: 0, reset: true))
    }

    @Test func aSeqBeyondTheNewestRestartsInsteadOfSkipping() {
        #expect(ReplayPlan.make(start: .since(1000, epoch: nil), oldest: 1, newest: 10, epoch: "e") == ReplayPlan(gap: nil, after: 0, reset: true))
        #expect(ReplayPlan.make(start: .since(UInt64.max, epoch: "e"), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: 1...4, after: 0, reset: true))
        #expect(ReplayPlan.make(start: .since(9, epoch: "e"), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 9, reset: false))
    }

    @Test func lastTakesTheNewestBuffered() {
        #expect(ReplayPlan.make(start: .last(3), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 6, reset: false))
        #expect(ReplayPlan.make(start: .last(100), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 4, reset: false))
        #expect(ReplayPlan.make(start: .last(0), oldest: 5, newest: 9, epoch: "e") == ReplayPlan(gap: nil, after: 9, reset: false))
        #expect(ReplayPlan.make(start: .last(5), oldest: 1, newest: 0, epoch: "e") == ReplayPlan(gap: nil, after: 0, reset: false))
    }
}
