extension Cursor {
    /// Parses the HTTP transports' `positions` parameter: `<topic>:<epoch>:<seq>,…`, one triple
    /// per topic, as a client that held `(epoch, seq)` on WebSocket sends it.
    ///
    /// The result means exactly what a cursor holding those values would. Throws a human
    /// sentence naming the first bad triple: not three parts, a topic not in `topics` (or
    /// repeated), an epoch that is not 1 to 32 URL-safe characters, or a seq that is not a
    /// whole number from 0.
    public static func positions(parsing text: String, topics: [String]) throws(PositionsError) -> [Position] {
        guard !text.isEmpty else { throw PositionsError(message: "positions is empty; give <topic>:<epoch>:<seq> for one or more of topics.") }
        var positions: [Position] = []
        for triple in text.split(separator: ",", omittingEmptySubsequences: false) {
            let shown = "'\(triple.prefix(200))'"
            let parts = triple.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3 else { throw PositionsError(message: "\(shown) is not <topic>:<epoch>:<seq>.") }
            let (topic, epoch, seqText) = (String(parts[0]), String(parts[1]), parts[2])
            guard topics.contains(topic) else { throw PositionsError(message: "\(shown) names a topic that is not one of topics.") }
            guard !positions.contains(where: { $0.topic == topic }) else {
                throw PositionsError(message: "\(shown) repeats the topic '\(topic)'; give one position per topic.")
            }
            guard (1...32).contains(epoch.utf8.count), epoch.utf8.allSatisfy(TopicName.isURLSafe) else {
                throw PositionsError(message: "\(shown): an epoch is 1 to 32 URL-safe characters.")
            }
            guard !seqText.isEmpty, seqText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let seq = UInt64(seqText) else {
                throw PositionsError(message: "\(shown): a seq is a whole number from 0.")
            }
            positions.append(Position(topic: topic, epoch: epoch, seq: seq))
        }
        return positions
    }
}

/// Why a `positions` parameter was refused: a sentence for the client.
public struct PositionsError: Error, Equatable, Sendable {
    /// What is wrong, naming the bad triple.
    public var message: String
}
