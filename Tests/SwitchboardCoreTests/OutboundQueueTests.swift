import NIOCore
import Testing
@testable import SwitchboardCore

@Suite struct OutboundQueueTests {
    func frame(_ topic: String, _ seqs: ClosedRange<UInt64>, size: Int = 100) -> EncodedFrame {
        EncodedFrame(topic: topic, firstSeq: seqs.lowerBound, lastSeq: seqs.upperBound, plain: ByteBuffer(repeating: 0, count: size), compressed: nil)
    }

    func describe(_ items: [OutboundItem]) -> [String] {
        items.map { item in
            switch item {
            case .control(let message, let rendered):
                String(buffer: rendered) == message.json ? message.json : "mismatch: \(message.json)"
            case .events(let frame): "\(frame.topic):\(frame.firstSeq)-\(frame.lastSeq)"
            case .close(let code, _): "close \(code)"
            }
        }
    }

    @Test func overflowReplacesQueuedFramesByExactGaps() {
        var queue = OutboundQueue(maxBytes: 250, policy: .drop, zstd: false)
        queue.activate(topic: "a", generation: 1)
        queue.activate(topic: "b", generation: 2)
        #expect(queue.push(frame("a", 1...3), generation: 1) == .queued)
        #expect(queue.push(frame("b", 10...10), generation: 2) == .queued)
        queue.push(.gap(Gap(topic: "a", from: 4, to: 6)))
        #expect(queue.push(frame("a", 7...9), generation: 1) == .droppedOlder(dropped: 4))
        #expect(describe(queue.popAll()) == [
            #"{"type":"gap","topic":"a","from":1,"to":6}"#,
            #"{"type":"gap","topic":"b","from":10,"to":10}"#,
            "a:7-9",
        ])
        #expect(queue.slowGaps == 2)
        #expect(queue.queuedBytes == 0)
    }

    @Test func repeatedOverflowsMergeIntoOneGap() {
        var queue = OutboundQueue(maxBytes: 150, policy: .drop, zstd: false)
        queue.activate(topic: "a", generation: 1)
        for seq in UInt64(1)...6 { _ = queue.push(frame("a", seq...seq), generation: 1) }
        // 1 queued; 2 overflows -> gap 1, [2]; 3 overflows -> gap 1-2, [3]; … -> gap 1-5, [6]
        #expect(describe(queue.popAll()) == [#"{"type":"gap","topic":"a","from":1,"to":5}"#, "a:6-6"])
    }

    @Test func gapsStayOnTheirSideOfControlMessages() {
        var queue = OutboundQueue(maxBytes: 150, policy: .drop, zstd: false)
        queue.activate(topic: "a", generation: 1)
        _ = queue.push(frame("a", 1...2), generation: 1)
        queue.deactivate(topic: "a")
        queue.push(.unsubscribed(topic: "a", id: nil))
        queue.activate(topic: "a", generation: 2)
        queue.push(.subscribed(topic: "a", epoch: "E", seq: 20, reset: false, id: nil))
        _ = queue.push(frame("a", 21...21), generation: 2)
        _ = queue.push(frame("a", 22...22), generation: 2)
        #expect(describe(queue.popAll()) == [
            #"{"type":"gap","topic":"a","from":1,"to":2}"#,
            #"{"type":"unsubscribed","topic":"a"}"#,
            #"{"type":"subscribed","topic":"a","epoch":"E","seq":20,"reset":false}"#,
            #"{"type":"gap","topic":"a","from":21,"to":21}"#,
            "a:22-22",
        ])
    }

    @Test func staleGenerationsAreRefused() {
        var queue = OutboundQueue(maxBytes: 1000, policy: .drop, zstd: false)
        queue.activate(topic: "a", generation: 2)
        #expect(queue.push(frame("a", 1...1), generation: 1) == .stale)
        #expect(queue.push(frame("b", 1...1), generation: 2) == .stale)
        #expect(queue.isEmpty)
    }

    @Test func disconnectPolicyClosesWith4008() {
        var queue = OutboundQueue(maxBytes: 150, policy: .disconnect, zstd: false)
        queue.activate(topic: "a", generation: 1)
        #expect(queue.push(frame("a", 1...1), generation: 1) == .queued)
        #expect(queue.push(frame("a", 2...2), generation: 1) == .disconnect)
        #expect(describe(queue.popAll()) == ["close 4008"])
        #expect(queue.push(frame("a", 3...3), generation: 1) == .closed)
    }

    @Test func unreadControlMessagesAreBoundedToo() {
        var queue = OutboundQueue(maxBytes: 1000, policy: .drop, zstd: false)
        for _ in 0..<100 { queue.push(.error(code: "unknown_op", message: "Unknown op.", id: nil)) }
        #expect(queue.isClosed)
        #expect(describe(queue.popAll()) == ["close 4008"])
    }

    @Test func aLoneOversizedFrameIsAccepted() {
        var queue = OutboundQueue(maxBytes: 10, policy: .drop, zstd: false)
        queue.activate(topic: "a", generation: 1)
        #expect(queue.push(frame("a", 1...1, size: 500), generation: 1) == .queued)
    }

    @Test func zstdQueuesCountCompressedBytes() {
        var queue = OutboundQueue(maxBytes: 100, policy: .drop, zstd: true)
        queue.activate(topic: "a", generation: 1)
        let small = EncodedFrame(
            topic: "a", firstSeq: 1, lastSeq: 1, plain: ByteBuffer(repeating: 0, count: 1000), compressed: ByteBuffer(repeating: 1, count: 40)
        )
        #expect(queue.push(small, generation: 1) == .queued)
        #expect(queue.queuedBytes == 40)
    }
}
