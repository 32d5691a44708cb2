/// A request the engine refused, with the contract's error code.
public struct EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of refusal this is; transports map it to a status or close code.
    public enum Kind: Sendable, Equatable {
        /// The input is invalid (HTTP 400).
        case invalid
        /// The payload is over the limit (HTTP 413).
        case tooLarge
        /// A limit on counts or rates was reached (HTTP 429).
        case limit
        /// The thing named does not exist (HTTP 404).
        case notFound
        /// The request conflicts with the current state (HTTP 409; on WebSocket an error message).
        case conflict
        /// Well-formed, but contradicts what the broker already holds (HTTP 422).
        case unprocessable
    }

    /// The kind of refusal.
    public let kind: Kind
    /// The contract's snake_case code.
    public let code: String
    /// A human sentence.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, code: String, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The contract's error for a bad topic name.
    public static func invalidTopic(_ name: String) -> EngineError {
        EngineError(.invalid, code: "invalid_topic", message: "'\(name.prefix(140))' is not a valid topic name: 1 to 128 characters, segments of A-Z a-z 0-9 _ - joined by single dots.")
    }

    /// The contract's error for an idempotency key repeated with a different payload or type.
    public static func idempotencyKeyReused(_ key: String) -> EngineError {
        EngineError(
            .unprocessable, code: "idempotency_key_reused",
            message: "The idempotency key '\(key)' names a buffered event with a different payload or type; nothing was published."
        )
    }
}
