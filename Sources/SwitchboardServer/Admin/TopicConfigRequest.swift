import Foundation
import NIOCore
import SwitchboardCore

/// The body of `PUT /v1/admin/topics/{t}/config`: any of `capacity`, `max_bytes`, `ttl_seconds`.
struct TopicConfigRequest: Decodable {
    /// The most events kept.
    var capacity: Int?
    /// The most payload bytes kept.
    var maxBytes: Int?
    /// The longest an event is kept, in seconds; 0 for no age limit.
    var ttlSeconds: Int?

    /// The JSON field names.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case capacity
        case maxBytes = "max_bytes"
        case ttlSeconds = "ttl_seconds"
    }

    /// The allowed values, the same as the `ring_*` settings.
    static let ranges: [CodingKeys: ClosedRange<Int>] = [
        .capacity: 1...10_000_000,
        .maxBytes: 1...Int(Int32.max),
        .ttlSeconds: 0...31_536_000,
    ]

    /// Parses `body` and applies it to `current`; throws the contract's 400 on anything else.
    static func limits(from body: ByteBuffer, current: RingLimits) throws(APIError) -> RingLimits {
        let data = Data(body.readableBytesView)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw APIError(.invalidJSON, message: "The body is one JSON object, e.g. {\"capacity\":100}.")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid("Unknown field '\(unknown.prefix(40))'; use capacity, max_bytes or ttl_seconds.")
        }
        let request: TopicConfigRequest
        do {
            request = try JSONDecoder().decode(TopicConfigRequest.self, from: data)
        } catch {
            let field = (error as? DecodingError).flatMap(Self.field) ?? "a field"
            throw invalid("\(field) must be a whole number.")
        }
        var limits = current
        for key in CodingKeys.allCases {
            let value: Int? = switch key {
            case .capacity: request.capacity
            case .maxBytes: request.maxBytes
            case .ttlSeconds: request.ttlSeconds
            }
            guard let value else { continue }
            let range = ranges[key]!
            guard range.contains(value) else {
                throw invalid("\(key.rawValue) must be from \(range.lowerBound) to \(range.upperBound), not \(value).")
            }
            switch key {
            case .capacity: limits.capacity = value
            case .maxBytes: limits.maxBytes = value
            case .ttlSeconds: limits.ttlSeconds = value
            }
        }
        return limits
    }

    private static func invalid(_ message: String) -> APIError {
        APIError(.invalidConfig, message: message)
    }

    private static func field(_ error: DecodingError) -> String? {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.last?.stringValue
        default:
            nil
        }
    }
}
