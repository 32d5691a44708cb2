import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The rules of one HTTP/1.1 connection, as a value: requests are answered one at a time in
/// the order they came, whatever answers them (a publish on the event loop, a route in a task,
/// a poll parked on the connection, a stream); bodies are read whole or streamed; and the
/// connection closes exactly when it should. No I/O: each event returns what to do, and
/// ``HTTP1ConnectionHandler`` does it.
///
/// One exception to one-at-a-time: while the answer owed is a parked poll, the next request
/// runs (a publish behind it may be what wakes it), and its answer is held until the poll's
/// has been written. Only one runs ahead; the requests after it wait their turn.
///
/// In the manner of NIO's `HTTPServerPipelineHandler` (ordering, half-close) and Hummingbird's
/// `HTTPConnectionStateHandler.StateMachine` (a struct whose methods return actions).
struct HTTP1ConnectionStateMachine {
    /// Why the connection refuses what it read, answers that, and closes.
    enum Refusal: Equatable, Sendable {
        /// Bytes that are not HTTP/1.1, or a request framed two ways (`400 invalid_request`).
        case notHTTP
        /// A request head over the limit (`431`).
        case headTooLarge
    }

    /// What becomes of the parts of the request being read.
    enum Reading {
        /// Between requests.
        case awaitingHead
        /// Kept until its end (or until it outgrows the small-body limit): the head and the body so far.
        case collecting(HTTPRequest, ByteBuffer?)
        /// Given to its running route as it comes.
        case streaming
        /// The rest of a body its route no longer reads.
        case discarding
    }

    /// The answer owed on the connection.
    enum Answer: Equatable {
        /// None: the next request may start once it is read.
        case none
        /// A request was dispatched and its answer has not ended.
        case pending
        /// The answer is a stream of unknown length (SSE), ended by the route or the client.
        case streaming
        /// A poll waits on the connection for its answer.
        case parked
    }

    /// What a dispatched request's route answered with, when it is not a response of known
    /// length (whose end, ``answerEnded()``, is all the machine needs to hear of it).
    enum Outcome: Equatable {
        /// A stream, written as it comes.
        case stream
        /// A poll to park here until its waiter fires.
        case park
    }

    /// What the handler does after an event.
    enum Action {
        /// Nothing.
        case none
        /// Runs the request, whose body was read whole.
        case dispatch(HTTPRequest, body: ByteBuffer)
        /// Runs the request now and streams its body to it, starting with `first`.
        case dispatchStreaming(HTTPRequest, first: ByteBuffer)
        /// Gives a body part to the running route.
        case feedBody(ByteBuffer)
        /// Tells the running route its body has ended.
        case finishBody
        /// Tells the running route its body was cut short.
        case failBody
        /// Leaves the poll parked, waiting for its waiter.
        case armParked
        /// The request running ahead of a parked poll is a poll too: it waits in its task.
        case parkInTask
        /// Ends the parked poll unanswered (the client went away) and closes.
        case abandonParkedAndClose
        /// Ends the stream (its route is cancelled) and closes.
        case endStreamAndClose
        /// Answers the refusal and closes once it is written.
        case refuse(Refusal)
        /// Closes once what was written is flushed.
        case close
        /// Takes what was queued, in order, as far as it can go, then reads on.
        case takeQueued
    }

    /// A request part read while an earlier request was still being answered, or the point
    /// where the bytes stopped being HTTP.
    private enum Queued {
        case part(HTTPRequestPart)
        case refusal(Refusal)
    }

    /// Bodies up to this many bytes are read whole before the request runs.
    let smallBodyBytes: Int
    private(set) var reading = Reading.awaitingHead
    private(set) var answer = Answer.none
    /// The answer of the request running ahead of a parked poll (``Answer/none`` when none runs).
    private(set) var ahead = Answer.none
    /// The request that ran ahead of the parked poll has answered; its answer is held.
    private(set) var aheadAnswered = false
    private var queued = CircularBuffer<Queued>()
    /// Nothing more is taken: the connection closes after the answer owed (`Connection: close`, drain, refusal).
    private(set) var closing = false
    /// The client closed its side.
    private(set) var inputClosed = false
    /// The channel is gone; every later event is ignored.
    private(set) var closed = false
    /// The decoder is between requests, so bytes arriving now start a request head.
    private(set) var awaitingHeadBytes = true
    /// The route reads a streamed body more slowly than it comes.
    private var bodyPaused = false

    /// A connection's machine; `smallBodyBytes` is the most read whole before dispatch.
    init(smallBodyBytes: Int) {
        self.smallBodyBytes = smallBodyBytes
    }

    /// Whether the socket may be read now: not while requests wait their turn, nor while a
    /// streamed body's route is behind.
    var mayRead: Bool { queued.isEmpty && !bodyPaused && !closed }

    /// Whether answers written now must be held: they come after a parked poll's.
    var holdsAnswers: Bool { answer == .parked }

    /// Whether nothing is owed, read or waiting: a drain may close the connection at once.
    var isIdle: Bool {
        guard case .awaitingHead = reading else { return false }
        return answer == .none && queued.isEmpty
    }

    // MARK: Inbound

    /// A request head was decoded.
    mutating func headArrived(_ head: HTTPRequest) -> Action {
        awaitingHeadBytes = false
        return take(.head(head))
    }

    /// A body part was decoded.
    mutating func bodyArrived(_ chunk: ByteBuffer) -> Action {
        take(.body(chunk))
    }

    /// A request's end was decoded.
    mutating func endArrived() -> Action {
        awaitingHeadBytes = true
        return take(.end(nil))
    }

    /// The decoder found bytes it cannot take; nothing after them is a request.
    mutating func invalidBytes(_ refusal: Refusal) -> Action {
        guard !closed else { return .none }
        if closing, answer == .none, queued.isEmpty, isBetweenRequests { return .none }  // after the last request
        awaitingHeadBytes = false
        if case .streaming = reading {
            // The route's body ends in error; the refusal follows its answer.
            reading = .awaitingHead
            bodyPaused = false
            queued.append(.refusal(refusal))
            return .failBody
        }
        if queued.isEmpty, answer == .none {
            return refuse(refusal)
        }
        queued.append(.refusal(refusal))
        return .none
    }

    /// A request the upgrade machinery took (and this machine never saw) is answered here, as
    /// the connection's last answer: a refused WebSocket upgrade. False when something else is
    /// owed already, which cannot happen on a connection's first request.
    mutating func answerUnseenRequest() -> Bool {
        guard !closed, answer == .none else { return false }
        answer = .pending
        closing = true
        awaitingHeadBytes = false
        return true
    }

    /// Takes the next queued part when its turn has come; nil when none can be taken now.
    mutating func nextQueued() -> Action? {
        guard !closed, let first = queued.first else { return nil }
        switch first {
        case .part(let part):
            guard canTake(part) else { return nil }
            queued.removeFirst()
            return takeNow(part)
        case .refusal(let refusal):
            guard answer == .none, case .awaitingHead = reading else { return nil }
            queued.removeAll()
            return refuse(refusal)
        }
    }

    /// After the queue was taken as far as it goes: a client that closed its side, or a
    /// connection that takes nothing more, closes once nothing is owed (a request the client
    /// cut short is not answered).
    mutating func queueSettled() -> Action {
        guard !closed, answer == .none, queued.isEmpty else { return .none }
        guard inputClosed || (closing && isBetweenRequests) else { return .none }
        closed = true
        return .close
    }

    /// A streamed body's route asked for more.
    mutating func bodyWanted() -> Bool {
        guard bodyPaused else { return false }
        bodyPaused = false
        return true
    }

    /// A streamed body's route is behind: stop reading until it asks for more.
    mutating func bodyBackedUp() {
        if case .streaming = reading { bodyPaused = true }
    }

    /// A streamed body's route let go of it before its end: the rest is read and dropped.
    mutating func bodyAbandoned() -> Bool {
        guard case .streaming = reading else { return false }
        reading = .discarding
        bodyPaused = false
        return true
    }

    // MARK: Answers

    /// The dispatched request's route answered with `outcome`.
    mutating func routeAnswered(_ outcome: Outcome) -> Action {
        guard !closed else { return .none }
        if answer == .parked, ahead == .pending {
            switch outcome {
            case .stream:
                ahead = .streaming
                return .none
            case .park: return .parkInTask
            }
        }
        guard answer == .pending else { return .none }
        switch outcome {
        case .stream:
            answer = .streaming
            return inputClosed ? endStream() : .none
        case .park:
            answer = .parked
            if inputClosed {
                answer = .none
                closed = true
                return .abandonParkedAndClose
            }
            return .armParked
        }
    }

    /// The answer owed was written to its end: the next request may start, or the connection closes.
    mutating func answerEnded() -> Action {
        guard !closed, answer != .none else { return .none }
        if answer == .parked {
            // The request that ran ahead answered; its answer waits for the poll's.
            guard ahead != .none else { return .none }
            ahead = .none
            aheadAnswered = true
            return .none
        }
        answer = .none
        return afterAnswer()
    }

    /// The parked poll's answer was written, and with it whatever was held behind it: the
    /// request that ran ahead is now the one answering, or the next may start, or the
    /// connection closes.
    mutating func parkedAnswered() -> Action {
        guard !closed, answer == .parked else { return .none }
        if ahead != .none {
            answer = ahead
            ahead = .none
            return .none
        }
        answer = .none
        aheadAnswered = false
        return afterAnswer()
    }

    private mutating func afterAnswer() -> Action {
        if closing || (inputClosed && queued.isEmpty && isBetweenRequests) {
            closed = true
            return .close
        }
        return .takeQueued
    }

    // MARK: Connection events

    /// The client closed its side. It gets the answers to what it sent, then the connection
    /// closes; but a parked poll or a stream is taken as abandoned (as a proxy takes a client
    /// abort), and a request cut short is not answered.
    mutating func inputEnded() -> Action {
        guard !closed else { return .none }
        inputClosed = true
        switch answer {
        case .parked:
            answer = .none
            closed = true
            return .abandonParkedAndClose
        case .streaming:
            return endStream()
        case .none, .pending:
            break
        }
        switch reading {
        case .streaming:
            reading = .awaitingHead
            bodyPaused = false
            return .failBody
        case .collecting:
            reading = .awaitingHead
        case .awaitingHead, .discarding:
            reading = .awaitingHead
        }
        if answer == .none, queued.isEmpty {
            closed = true
            return .close
        }
        return .none
    }

    /// The broker drains: nothing new is taken; an idle connection closes now, a busy one
    /// after the answer it owes.
    mutating func drain() -> Action {
        guard !closed else { return .none }
        closing = true
        queued.removeAll()
        bodyPaused = false
        if answer == .none, isBetweenRequests {
            closed = true
            return .close
        }
        return .none
    }

    /// The request head now being read took longer than the header timeout. (Closing ends
    /// whatever else ran on the connection: see ``channelClosed()``.)
    mutating func headerTimedOut() -> Action {
        guard !closed, awaitingHeadBytes else { return .none }
        closed = true
        return .close
    }

    /// The channel went away: every later event is ignored. The handler ends whatever ran
    /// on it (a streamed body, a parked poll, a stream).
    mutating func channelClosed() {
        closed = true
        queued.removeAll()
        answer = .none
        ahead = .none
        aheadAnswered = false
        reading = .awaitingHead
        bodyPaused = false
    }

    /// A request head was seen by the upgrade machinery instead (a WebSocket upgrade):
    /// its bytes are complete.
    mutating func upgradeHeadSeen() {
        awaitingHeadBytes = false
    }

    // MARK: Helpers

    private var isBetweenRequests: Bool {
        if case .awaitingHead = reading { return true }
        return false
    }

    private mutating func take(_ part: HTTPRequestPart) -> Action {
        guard !closed else { return .none }
        if closing, answer == .none, queued.isEmpty, isBetweenRequests { return .none }  // after the last request
        if queued.isEmpty, canTake(part) { return takeNow(part) }
        if closing, case .head = part { return .none }  // nothing after the last request is taken
        queued.append(.part(part))
        return .none
    }

    /// A new request only once the one before was read whole and answered.
    private func canTake(_ part: HTTPRequestPart) -> Bool {
        guard case .head = part else { return true }
        guard !closing, isBetweenRequests else { return false }
        return answer == .none || (answer == .parked && ahead == .none && !aheadAnswered)
    }

    /// A request starts to be answered: the one owed, or the one ahead of a parked poll.
    private mutating func startAnswer() {
        if answer == .parked {
            ahead = .pending
        } else {
            answer = .pending
        }
    }

    private mutating func takeNow(_ part: HTTPRequestPart) -> Action {
        switch (part, reading) {
        case (.head(let head), .awaitingHead):
            if Self.asksToClose(head) { closing = true }
            reading = .collecting(head, nil)
            return .none
        case (.body(let chunk), .collecting(let head, let collected)):
            reading = .awaitingHead  // let go of the body before appending, so it is not copied
            var body: ByteBuffer
            if var collected {
                collected.writeImmutableBuffer(chunk)
                body = collected
            } else {
                body = chunk
            }
            guard body.readableBytes > smallBodyBytes else {
                reading = .collecting(head, body)
                return .none
            }
            reading = .streaming
            startAnswer()
            return .dispatchStreaming(head, first: body)
        case (.body(let chunk), .streaming):
            return .feedBody(chunk)
        case (.end, .collecting(let head, let body)):
            reading = .awaitingHead
            startAnswer()
            return .dispatch(head, body: body ?? ByteBuffer())
        case (.end, .streaming):
            reading = .awaitingHead
            bodyPaused = false
            return .finishBody
        case (.end, .discarding):
            reading = .awaitingHead
            return answer == .none ? .takeQueued : .none
        case (.body, .discarding), (.body, .awaitingHead), (.end, .awaitingHead), (.head, _):
            return .none  // the rest of a body nobody reads; the decoder sends nothing else out of order
        }
    }

    private mutating func refuse(_ refusal: Refusal) -> Action {
        closing = true
        answer = .pending
        reading = .awaitingHead
        return .refuse(refusal)
    }

    private mutating func endStream() -> Action {
        answer = .none
        closed = true
        return .endStreamAndClose
    }

    /// Whether the request's `Connection` field lists `close`.
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains(where: saysClose)
    }

    /// Whether one `Connection` value lists the `close` option.
    static func saysClose(_ value: String) -> Bool {
        value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
    }
}
