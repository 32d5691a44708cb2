import HTTPTypes
import NIOCore
@testable import SwitchboardServer
import Testing

/// The rules of an HTTP/1.1 connection without I/O: each ordering case, event by event.
@Suite struct HTTP1ConnectionStateMachineTests {
    typealias Machine = HTTP1ConnectionStateMachine

    private func head(_ method: HTTPRequest.Method = .get, _ path: String = "/healthz", close: Bool = false) -> HTTPRequest {
        var request = HTTPRequest(method: method, scheme: nil, authority: "x", path: path)
        if close { request.headerFields[.connection] = "close" }
        return request
    }

    private func bytes(_ count: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: count) }

    /// The path of a dispatched request, or nil when the action is no dispatch.
    private func dispatched(_ action: Machine.Action) -> String? {
        switch action {
        case .dispatch(let head, _), .dispatchStreaming(let head, _): head.path
        default: nil
        }
    }

    private func isClose(_ action: Machine.Action) -> Bool {
        if case .close = action { return true }
        return false
    }

    private func isTakeQueued(_ action: Machine.Action) -> Bool {
        if case .takeQueued = action { return true }
        return false
    }

    /// Takes every queued request it can, as the handler does, and returns the paths dispatched.
    private func takeQueued(_ machine: inout Machine) -> [String] {
        var paths: [String] = []
        while let next = machine.nextQueued() {
            if let path = dispatched(next) { paths.append(path) }
        }
        return paths
    }

    @Test func aRequestReadWholeIsDispatchedAtItsEndWithItsBody() {
        var machine = Machine(smallBodyBytes: 100)
        #expect(dispatched(machine.headArrived(head(.post, "/v1/topics/a"))) == nil)
        #expect(dispatched(machine.bodyArrived(bytes(30))) == nil)
        #expect(dispatched(machine.bodyArrived(bytes(30))) == nil)
        guard case .dispatch(let request, let body) = machine.endArrived() else { Issue.record("no dispatch"); return }
        #expect(request.path == "/v1/topics/a")
        #expect(body.readableBytes == 60)
        #expect(!machine.isIdle)
        #expect(isTakeQueued(machine.answerEnded()))
        #expect(machine.isIdle)
    }

    @Test func pipelinedRequestsWaitForTheAnswerBeforeThemAndReadingStops() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/one"))
        #expect(dispatched(machine.endArrived()) == "/one")
        // The next two arrive in the same read: queued, and the socket is not read meanwhile.
        #expect(dispatched(machine.headArrived(head(.get, "/two"))) == nil)
        #expect(dispatched(machine.endArrived()) == nil)
        #expect(dispatched(machine.headArrived(head(.post, "/three"))) == nil)
        _ = machine.bodyArrived(bytes(5))
        _ = machine.endArrived()
        #expect(!machine.mayRead)
        #expect(takeQueued(&machine).isEmpty)  // still answering /one
        #expect(isTakeQueued(machine.answerEnded()))
        #expect(takeQueued(&machine) == ["/two"])  // /three waits for /two's answer
        #expect(!machine.mayRead)
        #expect(isTakeQueued(machine.answerEnded()))
        #expect(takeQueued(&machine) == ["/three"])
        #expect(machine.mayRead)
    }

    @Test func connectionCloseAnswersThenClosesAndTakesNothingAfter() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/one", close: true))
        #expect(dispatched(machine.endArrived()) == "/one")
        #expect(dispatched(machine.headArrived(head(.get, "/two"))) == nil)
        _ = machine.endArrived()
        #expect(isClose(machine.answerEnded()))
        #expect(machine.nextQueued() == nil)
    }

    @Test func aHalfClosedClientGetsItsAnswersThenTheConnectionCloses() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/one"))
        _ = machine.endArrived()
        _ = machine.headArrived(head(.get, "/two"))
        _ = machine.endArrived()
        guard case .none = machine.inputEnded() else { Issue.record("closed with answers owed"); return }
        #expect(isTakeQueued(machine.answerEnded()))
        #expect(takeQueued(&machine) == ["/two"])
        #expect(isClose(machine.answerEnded()))
    }

    @Test func aHalfCloseBetweenRequestsClosesAtOnce() {
        var machine = Machine(smallBodyBytes: 100)
        #expect(isClose(machine.inputEnded()))
    }

    @Test func aRequestCutShortByAHalfCloseIsNotAnswered() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        _ = machine.bodyArrived(bytes(10))
        #expect(isClose(machine.inputEnded()))
    }

    @Test func aHalfCloseUnderAParkedPollOrAStreamEndsItAndCloses() {
        var parked = Machine(smallBodyBytes: 100)
        _ = parked.headArrived(head(.get, "/v1/poll"))
        _ = parked.endArrived()
        _ = parked.routeAnswered(.park)
        guard case .abandonParkedAndClose = parked.inputEnded() else { Issue.record("poll kept"); return }

        var streaming = Machine(smallBodyBytes: 100)
        _ = streaming.headArrived(head(.get, "/v1/sse"))
        _ = streaming.endArrived()
        guard case .none = streaming.routeAnswered(.stream) else { Issue.record("stream ended early"); return }
        guard case .endStreamAndClose = streaming.inputEnded() else { Issue.record("stream kept"); return }
    }

    @Test func aPollThatParksAfterTheClientLeftIsAbandoned() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/v1/poll"))
        _ = machine.endArrived()
        guard case .none = machine.inputEnded() else { Issue.record("closed with the answer owed"); return }
        guard case .abandonParkedAndClose = machine.routeAnswered(.park) else { Issue.record("parked for nobody"); return }
    }

    @Test func aBodyOverTheSmallLimitStreamsToItsRouteWithBackPressure() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        #expect(dispatched(machine.bodyArrived(bytes(60))) == nil)
        guard case .dispatchStreaming(_, let first) = machine.bodyArrived(bytes(60)) else { Issue.record("not streamed"); return }
        #expect(first.readableBytes == 120)
        guard case .feedBody(let next) = machine.bodyArrived(bytes(7)) else { Issue.record("not fed"); return }
        #expect(next.readableBytes == 7)
        machine.bodyBackedUp()
        #expect(!machine.mayRead)
        let wanted = machine.bodyWanted()
        #expect(wanted)
        #expect(machine.mayRead)
        guard case .finishBody = machine.endArrived() else { Issue.record("not finished"); return }
        #expect(isTakeQueued(machine.answerEnded()))
    }

    @Test func aBodyItsRouteAbandonedIsReadAndDroppedAndIsNotTakenForRequests() {
        var machine = Machine(smallBodyBytes: 10)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        _ = machine.bodyArrived(bytes(20))
        // The route answered 413 and let go of the body.
        let abandoned = machine.bodyAbandoned()
        #expect(abandoned)
        #expect(isTakeQueued(machine.answerEnded()))
        guard case .none = machine.bodyArrived(bytes(20)) else { Issue.record("dropped body was used"); return }
        #expect(!machine.isIdle)
        _ = machine.endArrived()
        #expect(machine.isIdle)
        _ = machine.headArrived(head(.get, "/next"))
        #expect(dispatched(machine.endArrived()) == "/next")
    }

    @Test func bytesThatAreNotHTTPAreRefusedAfterTheAnswersBeforeThem() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/one"))
        _ = machine.endArrived()
        guard case .none = machine.invalidBytes(.notHTTP) else { Issue.record("refused before the answer owed"); return }
        #expect(isTakeQueued(machine.answerEnded()))
        guard case .refuse(.notHTTP) = machine.nextQueued() else { Issue.record("not refused"); return }
        #expect(isClose(machine.answerEnded()))
    }

    @Test func aFirstRequestThatIsNotHTTPOrTooLargeIsRefusedAtOnce() {
        var notHTTP = Machine(smallBodyBytes: 100)
        guard case .refuse(.notHTTP) = notHTTP.invalidBytes(.notHTTP) else { Issue.record("not refused"); return }
        var large = Machine(smallBodyBytes: 100)
        guard case .refuse(.headTooLarge) = large.invalidBytes(.headTooLarge) else { Issue.record("not refused"); return }
        #expect(isClose(large.answerEnded()))
    }

    @Test func badBytesInsideAStreamedBodyFailItThenRefuse() {
        var machine = Machine(smallBodyBytes: 10)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        _ = machine.bodyArrived(bytes(20))
        guard case .failBody = machine.invalidBytes(.notHTTP) else { Issue.record("body not failed"); return }
        #expect(isTakeQueued(machine.answerEnded()))
        guard case .refuse(.notHTTP) = machine.nextQueued() else { Issue.record("not refused"); return }
    }

    @Test func drainClosesAnIdleConnectionAtOnce() {
        var machine = Machine(smallBodyBytes: 100)
        #expect(isClose(machine.drain()))
    }

    @Test func drainWithAPollParkedClosesAfterItsAnswer() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/v1/poll"))
        _ = machine.endArrived()
        _ = machine.routeAnswered(.park)
        guard case .none = machine.drain() else { Issue.record("poll cut off"); return }
        #expect(isClose(machine.parkedAnswered()))
    }

    @Test func drainWithAPublishBodyStillArrivingAnswersItThenCloses() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        _ = machine.bodyArrived(bytes(10))
        guard case .none = machine.drain() else { Issue.record("request cut off"); return }
        _ = machine.bodyArrived(bytes(10))
        guard case .dispatch(_, let body) = machine.endArrived() else { Issue.record("not dispatched"); return }
        #expect(body.readableBytes == 20)
        #expect(isClose(machine.answerEnded()))
    }

    @Test func theHeaderTimeoutClosesOnlyWhileAHeadIsAwaited() {
        var machine = Machine(smallBodyBytes: 100)
        #expect(machine.awaitingHeadBytes)
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        #expect(!machine.awaitingHeadBytes)
        guard case .none = machine.headerTimedOut() else { Issue.record("closed mid-body"); return }
        _ = machine.endArrived()
        #expect(machine.awaitingHeadBytes)
        #expect(isClose(machine.headerTimedOut()))
    }

    @Test func anUpgradeHeadStopsTheHeaderTimeout() {
        var machine = Machine(smallBodyBytes: 100)
        machine.upgradeHeadSeen()
        guard case .none = machine.headerTimedOut() else { Issue.record("upgrade timed out"); return }
    }

    @Test func eventsAfterTheChannelClosedAreIgnored() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/one"))
        _ = machine.endArrived()
        machine.channelClosed()
        guard case .none = machine.answerEnded() else { Issue.record("acted after close"); return }
        #expect(dispatched(machine.headArrived(head(.get, "/two"))) == nil)
        #expect(!machine.mayRead)
    }

    @Test func oneRequestRunsAheadOfAParkedPollAndItsAnswerWaitsForThePolls() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/v1/poll"))
        _ = machine.endArrived()
        _ = machine.routeAnswered(.park)
        // A publish behind the poll runs (it may be what wakes it) ...
        _ = machine.headArrived(head(.post, "/v1/topics/a"))
        #expect(dispatched(machine.endArrived()) == "/v1/topics/a")
        #expect(machine.holdsAnswers)
        // ... but only one: the next waits for its turn.
        _ = machine.headArrived(head(.get, "/healthz"))
        _ = machine.endArrived()
        #expect(takeQueued(&machine).isEmpty)
        guard case .none = machine.answerEnded() else { Issue.record("the held answer let the queue on"); return }
        #expect(takeQueued(&machine).isEmpty)
        // The poll answers: the held answer goes out behind it, and the queue moves on.
        #expect(isTakeQueued(machine.parkedAnswered()))
        #expect(takeQueued(&machine) == ["/healthz"])
    }

    @Test func aRequestStillRunningWhenThePollAnswersBecomesTheOneOwed() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/v1/poll"))
        _ = machine.endArrived()
        _ = machine.routeAnswered(.park)
        _ = machine.headArrived(head(.get, "/v1/sse"))
        _ = machine.endArrived()
        guard case .none = machine.routeAnswered(.stream) else { Issue.record("stream refused"); return }
        guard case .none = machine.parkedAnswered() else { Issue.record("moved on under a stream"); return }
        #expect(machine.answer == .streaming)
        #expect(!machine.holdsAnswers)
    }

    @Test func aSecondPollBehindAParkedOneWaitsInItsTask() {
        var machine = Machine(smallBodyBytes: 100)
        _ = machine.headArrived(head(.get, "/v1/poll?topics=a"))
        _ = machine.endArrived()
        _ = machine.routeAnswered(.park)
        _ = machine.headArrived(head(.get, "/v1/poll?topics=b"))
        _ = machine.endArrived()
        guard case .parkInTask = machine.routeAnswered(.park) else { Issue.record("parked twice"); return }
    }
}
