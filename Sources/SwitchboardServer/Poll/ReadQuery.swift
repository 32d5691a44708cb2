import Hummingbird
import HummingbirdCore
import SwitchboardCore

/// The query of `GET /v1/poll` and `GET /v1/sse`, checked: topics, where to start, how long to wait.
struct ReadQuery: Sendable {
    /// The topics to follow, in the client's order, without repeats.
    var topics: [String]
    /// Where each topic starts, by topic.
    var starts: [String: StartPosition]
    /// The most events in one answer.
    var limit: Int
    /// How long a poll waits for something to happen.
    var timeout: Duration

    /// The longest a poll may wait, in seconds.
    static let maxTimeoutSeconds = 120.0
    /// The most events one answer may hold.
    static let maxLimit = 1000

    /// Parses the query; `lastEventID` (SSE's `Last-Event-ID`) resumes like a cursor and wins
    /// over it and over `positions`.
    init(_ uri: URI, lastEventID: String? = nil) throws(APIError) {
        let parameters = uri.queryParameters
        guard let list = parameters.get("topics") else {
            throw APIError(.invalidRequest, message: "topics is required: a comma-separated list of topic names.")
        }
        var topics: [String] = []
        for name in list.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard TopicName.isValid(name) else { throw APIError(.invalidTopic(name)) }
            if !topics.contains(name) { topics.append(name) }
        }
        guard topics.count <= Cursor.maxTopics else {
            throw APIError(.invalidRequest, message: "At most \(Cursor.maxTopics) topics can be read at once.")
        }
        self.topics = topics
        limit = try Self.integer(parameters.get("limit"), name: "limit", range: 1...Self.maxLimit) ?? 100
        let seconds = try Self.seconds(parameters.get("timeout")) ?? 25
        timeout = .milliseconds(Int64(seconds * 1000))

        let cursorText = lastEventID ?? parameters.get("cursor")
        let last = lastEventID == nil ? try Self.integer(parameters.get("last"), name: "last", range: 0...Int(Int32.max)) : nil
        let positions = try Self.positions(parameters.get("positions"), topics: topics)
        if let positions, lastEventID == nil {
            // `Last-Event-ID` wins over `positions` as over `cursor`: a browser's EventSource
            // reconnects to the same URL with the newer position in that header.
            guard parameters.get("cursor") == nil, last == nil else {
                throw APIError(.invalidRequest, message: "Give positions, cursor or last, not more than one.")
            }
            // Exactly what a cursor holding these values gives; a topic without a triple starts live.
            var starts = Dictionary(uniqueKeysWithValues: topics.map { ($0, StartPosition.live) })
            for position in positions { starts[position.topic] = .since(position.seq, epoch: position.epoch) }
            self.starts = starts
        } else if let cursorText {
            guard last == nil else {
                throw APIError(.invalidRequest, message: "Give cursor or last, not both.")
            }
            let cursor = try Self.cursor(cursorText, topics: topics)
            starts = Dictionary(uniqueKeysWithValues: cursor.positions.map { ($0.topic, .since($0.seq, epoch: $0.epoch)) })
        } else {
            let start: StartPosition = last.map { .last($0) } ?? .live
            starts = Dictionary(uniqueKeysWithValues: topics.map { ($0, start) })
        }
    }

    private static func cursor(_ text: String, topics: [String]) throws(APIError) -> Cursor {
        guard let cursor = Cursor(decoding: text) else {
            throw APIError(.invalidCursor, message: "The cursor is not one this broker gave out; send it back unchanged.")
        }
        guard Set(cursor.positions.map(\.topic)) == Set(topics) else {
            throw APIError(.invalidCursor, message: "The cursor is for other topics than the ones asked for.")
        }
        return cursor
    }

    private static func positions(_ text: String?, topics: [String]) throws(APIError) -> [Cursor.Position]? {
        guard let text else { return nil }
        do throws(PositionsError) {
            return try Cursor.positions(parsing: text, topics: topics)
        } catch {
            throw APIError(.invalidRequest, message: "positions: " + error.message)
        }
    }

    static func integer(_ text: String?, name: String, range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError(.invalidRequest, message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text.prefix(40))'.")
        }
        return value
    }

    private static func seconds(_ text: String?) throws(APIError) -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0, value <= maxTimeoutSeconds else {
            throw APIError(.invalidRequest, message: "timeout must be a number of seconds from 0 to \(Int(maxTimeoutSeconds)), not '\(text.prefix(40))'.")
        }
        return value
    }
}

extension ReadQuery {
    /// A reader's request checked in the contract's order, as poll and SSE both need it:
    /// draining (503), the token (401, header or `?token=`), the query (400), then the
    /// `subscribe` grant of every topic (403). Returns who asks and what.
    static func authorized(
        _ request: Request, state: BrokerState, access: AccessControl, lastEventID: String? = nil
    ) async throws(APIError) -> (principal: Principal, query: ReadQuery) {
        guard !state.isDraining else { throw APIError.shuttingDown }
        let principal = try await access.authenticate(request, allowQueryToken: true)
        let query = try ReadQuery(request.uri, lastEventID: lastEventID)
        for topic in query.topics {
            try access.authorize(principal, .subscribe(topic))
        }
        return (principal, query)
    }
}
