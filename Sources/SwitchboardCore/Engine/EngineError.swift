/// A request the engine refused, with the contract's error code.
public struct EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which of the contract's errors this is (its code, status and close code).
    public let error: ContractError
    /// A human sentence.
    public let message: String

    /// Creates an error.
    public init(_ error: ContractError, message: String) {
        self.error = error
        self.message = message
    }

    /// The contract's snake_case code.
    public var code: String { error.code }

    public var description: String { "\(code): \(message)" }

    /// The contract's error for a bad topic name.
    public static func invalidTopic(_ name: String) -> EngineError {
        EngineError(.invalidTopic, message: "'\(name.prefix(140))' is not a valid topic name: 1 to 128 characters, segments of A-Z a-z 0-9 _ - joined by single dots.")
    }

    /// The contract's error for an idempotency key repeated with a different payload or type.
    public static func idempotencyKeyReused(_ key: String) -> EngineError {
        EngineError(.idempotencyKeyReused, message: "The idempotency key '\(key)' names a buffered event with a different payload or type; nothing was published."
        )
    }
}
