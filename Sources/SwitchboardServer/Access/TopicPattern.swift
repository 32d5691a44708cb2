/// A topic pattern from a token's grant: an exact name, `prefix.*`, or `*`.
///
/// `prefix.*` matches every name that starts with `prefix.` (so not `prefix` itself, nor
/// `prefixfoo.x`); `*` matches every name. Any other text matches only that exact name.
struct TopicPattern: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The pattern as written in the token.
    let text: String

    /// Creates a pattern from its text.
    init(_ text: String) { self.text = text }

    /// Decodes a pattern from a JSON string.
    init(from decoder: any Decoder) throws {
        text = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the pattern as a JSON string.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// Whether `topic` is covered by this pattern.
    func matches(_ topic: String) -> Bool {
        if text == "*" { return true }
        if text.hasSuffix(".*") {
            // Keep the dot: "stocks.*" covers "stocks.AAPL" but not "stocks" or "stocksfoo.x".
            return topic.count > text.count - 1 && topic.hasPrefix(text.dropLast())
        }
        return topic == text
    }

    var description: String { text }
}

/// What a set of credentials allows: topics to publish and subscribe to, and the admin API.
struct Grant: Sendable, Equatable, Codable {
    /// Patterns of topics that may be published to.
    var publish: [TopicPattern]
    /// Patterns of topics that may be subscribed to (any transport, history included).
    var subscribe: [TopicPattern]
    /// Whether the admin API, the admin page and `/metrics` may be used.
    var admin: Bool

    /// Creates a grant; by default it allows nothing.
    init(publish: [TopicPattern] = [], subscribe: [TopicPattern] = [], admin: Bool = false) {
        self.publish = publish
        self.subscribe = subscribe
        self.admin = admin
    }

    /// Decodes the `switchboard` claim; a missing field allows nothing.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        publish = try container.decodeIfPresent([TopicPattern].self, forKey: .publish) ?? []
        subscribe = try container.decodeIfPresent([TopicPattern].self, forKey: .subscribe) ?? []
        admin = try container.decodeIfPresent(Bool.self, forKey: .admin) ?? false
    }

    /// Whether this grant allows `permission`. `admin` does not imply publish or subscribe.
    func allows(_ permission: Permission) -> Bool {
        switch permission {
        case .publish(let topic): publish.contains { $0.matches(topic) }
        case .subscribe(let topic): subscribe.contains { $0.matches(topic) }
        case .admin, .metrics: admin
        }
    }

    /// Everything: the static admin token.
    static let everything = Grant(publish: [TopicPattern("*")], subscribe: [TopicPattern("*")], admin: true)
    /// Publishing to any topic and nothing else: a static publish token.
    static let publishAnything = Grant(publish: [TopicPattern("*")])
}
