import Foundation
import NIOCore
import Synchronization
import Testing

@testable import SwitchboardClient

/// The resume logic of one subscription, with no sockets.
@Suite struct ResumeStateTests {
    typealias Item = SwitchboardClient.Item

    func events(_ seqs: ClosedRange<UInt64>) -> [(seq: UInt64, ts: Int64, payload: ByteBuffer)] {
        seqs.map { ($0, Int64($0) * 10, ByteBuffer(string: "\($0)")) }
    }

    @Test func liveStartsAfterTheNewestAndResumesFromWhatWasDelivered() {
        var state = ResumeState(topic: "a")
        #expect(state.request() == .init(topic: "a"))
        #expect(state.subscribed(epoch: "e1", newest: 7, reset: false).isEmpty)
        #expect(state.position == .init(epoch: "e1", seq: 7))
        #expect(seqs(state.events(events(8...10))) == [8, 9, 10])
        // The connection drops: the next request resumes from seq 10 in epoch e1.
        #expect(state.request() == .init(topic: "a", since: 10, epoch: "e1"))
        #expect(state.subscribed(epoch: "e1", newest: 12, reset: false).isEmpty)
        #expect(seqs(state.events(events(11...12))) == [11, 12])
    }

    @Test func overlappingReplayIsNeverDeliveredTwice() {
        var state = ResumeState(topic: "a", since: 4, epoch: "e")
        #expect(state.request() == .init(topic: "a", since: 4, epoch: "e"))
        _ = state.subscribed(epoch: "e", newest: 9, reset: false)
        #expect(seqs(state.events(events(3...6))) == [5, 6])
        #expect(seqs(state.events(events(5...7))) == [7])
        #expect(state.events(events(1...7)).isEmpty)
    }

    @Test func lastAsksForTheNewestThenResumesWhereTheyStart() {
        var state = ResumeState(topic: "a", last: 3)
        #expect(state.request() == .init(topic: "a", last: 3))
        _ = state.subscribed(epoch: "e", newest: 10, reset: false)
        #expect(state.position.seq == 7)
        // Dropped before the replay arrived: ask for exactly those again.
        #expect(state.request() == .init(topic: "a", since: 7, epoch: "e"))
        var short = ResumeState(topic: "b", last: 50)
        _ = short.request()
        _ = short.subscribed(epoch: "e", newest: 10, reset: false)
        #expect(short.position.seq == 0)
    }

    @Test func staleEpochIsAResetThenTheNewBufferFromItsStart() {
        var state = ResumeState(topic: "a", since: 40, epoch: "old")
        _ = state.request()
        #expect(state.subscribed(epoch: "new", newest: 3, reset: true) == [.reset(.init(topic: "a", epoch: "new"))])
        #expect(state.position == .init(epoch: "new", seq: 0))
        #expect(seqs(state.events(events(1...3))) == [1, 2, 3])
        #expect(state.request() == .init(topic: "a", since: 3, epoch: "new"))
    }

    @Test func gapsAreTrimmedToWhatWasNotDelivered() {
        var state = ResumeState(topic: "a", since: 10, epoch: "e")
        _ = state.request()
        _ = state.subscribed(epoch: "e", newest: 30, reset: false)
        #expect(state.gap(from: 5, to: 9) == nil)
        #expect(state.gap(from: 8, to: 15) == .gap(.init(topic: "a", from: 11, to: 15)))
        #expect(state.position.seq == 15)
        #expect(seqs(state.events(events(16...16))) == [16])
    }

    @Test func anUnannouncedHoleBecomesAGap() {
        var state = ResumeState(topic: "a")
        _ = state.request()
        _ = state.subscribed(epoch: "e", newest: 0, reset: false)
        let items = state.events(events(3...4))
        #expect(items.first == .gap(.init(topic: "a", from: 1, to: 2)))
        #expect(seqs(items) == [3, 4])
    }

    @Test func resetUnderAnOpenSubscriptionRestartsAtZero() {
        var state = ResumeState(topic: "a")
        _ = state.request()
        _ = state.subscribed(epoch: "e1", newest: 5, reset: false)
        #expect(state.reset(epoch: "e2") == .reset(.init(topic: "a", epoch: "e2")))
        #expect(seqs(state.events(events(1...2))) == [1, 2])
        #expect(state.position == .init(epoch: "e2", seq: 2))
    }

    @Test func sinceWithoutEpochResumesWithoutOne() {
        var state = ResumeState(topic: "a", since: 0)
        #expect(state.request() == .init(topic: "a", since: 0, epoch: nil))
        _ = state.subscribed(epoch: "e", newest: 2, reset: false)
        #expect(seqs(state.events(events(1...2))) == [1, 2])
    }
}

/// Reconnection decisions and backoff, with no sockets.
@Suite struct ConnectionMachineTests {
    /// Runs one mutating step of the machine and returns its result (so `#expect` can read it).
    func step<T>(_ machine: inout ConnectionMachine, _ body: (inout ConnectionMachine) -> T) -> T {
        body(&machine)
    }

    func machine(random: @escaping @Sendable (ClosedRange<Double>) -> Double = { $0.upperBound }) -> ConnectionMachine {
        ConnectionMachine(backoff: Backoff(minimum: .milliseconds(100), maximum: .seconds(1), random: random))
    }

    @Test func backoffDoublesUpToTheMaximumWithFullJitter() {
        var highest = Backoff(minimum: .milliseconds(100), maximum: .seconds(1), random: { $0.upperBound })
        let caps = (0..<6).map { _ in (highest.next().seconds * 1000).rounded() }
        #expect(caps == [100, 200, 400, 800, 1000, 1000])
        var lowest = Backoff(minimum: .milliseconds(100), maximum: .seconds(1), random: { $0.lowerBound })
        #expect((0..<4).map { _ in (lowest.next().seconds * 1000).rounded() } == [100, 100, 100, 100])
        var real = Backoff(minimum: .milliseconds(100), maximum: .seconds(1))
        for _ in 0..<50 {
            let delay = real.next()
            #expect(delay >= .milliseconds(100) && delay <= .seconds(1))
        }
        highest.reset()
        #expect((highest.next().seconds * 1000).rounded() == 100)
    }

    @Test func failedAttemptsBackOffAndASuccessResetsTheDelay() {
        var m = machine()
        #expect(m.state == .disconnected)
        #expect(step(&m) { $0.startAttempt() } != nil)
        #expect(step(&m) { $0.startAttempt() } == nil)
        #expect(m.state == .connecting)
        #expect(step(&m) { $0.ended(.unreachable) } == .reconnect(after: .milliseconds(100)))
        #expect(m.state == .disconnected)
        #expect(step(&m) { $0.startAttempt() } != nil)
        #expect(step(&m) { $0.ended(.refused(status: 503, error: .broker(code: "shutting_down", message: "", status: 503, index: nil))) } == .reconnect(after: .milliseconds(200)))
        #expect(step(&m) { $0.startAttempt() } == 3)
        #expect(step(&m) { $0.connected(attempt: 3) } == 1)
        #expect(m.state == .connected)
        #expect(step(&m) { $0.ended(.ended(closeCode: 1001, reason: nil)) } == .reconnect(after: .milliseconds(100)))
        #expect(step(&m) { $0.startAttempt() } == 4)
        #expect(step(&m) { $0.connected(attempt: 3) } == nil, "an attempt given up on cannot connect")
        #expect(step(&m) { $0.connected(attempt: 4) } == 2)
        #expect(step(&m) { $0.ended(.ended(closeCode: nil, reason: "reset by peer")) } == .reconnect(after: .milliseconds(100)))
    }

    @Test func close1008StopsForGood() {
        var m = machine()
        _ = m.connected(attempt: m.startAttempt()!)
        let decision = m.ended(.ended(closeCode: 1008, reason: "token expired"))
        #expect(decision == .stop(.closedByBroker(code: 1008, reason: "token expired")))
        #expect(m.state == .closed)
        #expect(step(&m) { $0.startAttempt() } == nil)
    }

    @Test func refusalsThatRetryingCannotChangeStop() {
        for status in [400, 401, 403, 404] {
            var m = machine()
            _ = m.startAttempt()
            let error: SwitchboardError = status == 401 ? .unauthorized(message: "no") : .broker(code: "x", message: "", status: status, index: nil)
            #expect(step(&m) { $0.ended(.refused(status: status, error: error)) } == .stop(error))
            #expect(m.phase == .closed(error: error))
        }
        var limited = machine()
        _ = limited.startAttempt()
        #expect(step(&limited) { $0.ended(.refused(status: 429, error: .broker(code: "limit_reached", message: "", status: 429, index: nil))) } == .reconnect(after: .milliseconds(100)))
    }

    @Test func closeByTheApplicationIsFinalAndWinsOverWhatFollows() {
        var m = machine()
        _ = m.connected(attempt: m.startAttempt()!)
        #expect(step(&m) { $0.close() })
        #expect(!step(&m) { $0.close() })
        #expect(step(&m) { $0.ended(.ended(closeCode: 1000, reason: nil)) } == .stop(nil))
        #expect(m.state == .closed)
        var connecting = machine()
        let attempt = connecting.startAttempt()!
        connecting.close()
        #expect(step(&connecting) { $0.connected(attempt: attempt) } == nil)
    }

    @Test func aReconnectTheClientAskedForIsImmediate() {
        var m = machine()
        _ = m.connected(attempt: m.startAttempt()!)
        m.reconnectSoon()
        #expect(step(&m) { $0.ended(.ended(closeCode: 1000, reason: "token refresh")) } == .reconnect(after: .zero))
        _ = m.startAttempt()
        #expect(step(&m) { $0.ended(.unreachable) } == .reconnect(after: .milliseconds(100)))
    }
}

/// Tokens and URLs.
@Suite struct ClientUnitTests {
    @Test func jwtExpiryIsReadWithoutCheckingTheSignature() {
        // {"alg":"HS256"} . {"exp":2000000000,"sub":"x"} . signature
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjIwMDAwMDAwMDAsInN1YiI6IngifQ.c2ln"
        #expect(TokenSource.expiry(token)?.timeIntervalSince1970 == 2_000_000_000)
        #expect(TokenSource.expiry("not-a-jwt") == nil)
        #expect(TokenSource.expiry("a.eyJzdWIiOiJ4In0.b") == nil)  // no exp
        #expect(TokenSource.refreshMargin(issued: .init(timeIntervalSince1970: 0), expires: .init(timeIntervalSince1970: 3600)) == 30)
        #expect(TokenSource.refreshMargin(issued: .init(timeIntervalSince1970: 0), expires: .init(timeIntervalSince1970: 3)) == 1)
    }

    @Test func tokenProviderIsAskedAtEveryConnection() async throws {
        let calls = Counter()
        let source = TokenSource(token: nil) { "token-\(calls.increment())" }
        #expect(try await source.fresh() == "token-1")
        #expect(try await source.fresh() == "token-2")
        #expect(try await source.current() == "token-2")  // not a JWT: no expiry, cached
        let fixed = TokenSource(token: "static", provider: nil)
        #expect(try await fixed.fresh() == "static")
        #expect(fixed.refreshAt == nil)
    }

    @Test func urls() {
        func ws(_ text: String) -> String? { SwitchboardClient.urls(URL(string: text)!).ws }
        #expect(ws("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/v1/ws")
        #expect(ws("https://broker.example.com/prefix/") == "wss://broker.example.com/prefix/v1/ws")
        #expect(ws("ws://h:1") == "ws://h:1/v1/ws")
        #expect(ws("ftp://h") == nil)
        #expect(SwitchboardClient.urls(URL(string: "wss://h:9/x")!).base?.absoluteString == "https://h:9/x")
    }

    @Test func subscribeOpsAreTheContractsJSON() {
        #expect(ClientOp.subscribe(.init(topic: "a", since: 41, epoch: "e1"), id: 1) == #"{"op":"subscribe","topic":"a","since":41,"epoch":"e1","id":1}"#)
        #expect(ClientOp.subscribe(.init(topic: "a", last: 10), id: 2) == #"{"op":"subscribe","topic":"a","last":10,"id":2}"#)
        #expect(ClientOp.subscribe(.init(topic: "a"), id: 3) == #"{"op":"subscribe","topic":"a","id":3}"#)
        #expect(ClientOp.unsubscribe(topic: "a", id: 4) == #"{"op":"unsubscribe","topic":"a","id":4}"#)
        let message = BrokerMessage.parse(#"{"type":"subscribed","topic":"a","epoch":"e","seq":7,"reset":true,"id":1}"#)
        #expect(message?.seq == 7 && message?.reset == true && message?.id == 1)
        #expect(BrokerMessage.parse(#"{"type":"error","code":"x","message":"y","id":"not-ours"}"#)?.id == nil)
    }
}
