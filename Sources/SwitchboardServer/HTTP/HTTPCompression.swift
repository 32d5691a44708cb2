import CompressNIO
public import HTTPTypes
public import Hummingbird
public import NIOCore
public import SwitchboardCore

/// A content coding the broker can answer HTTP requests with.
public enum ContentCoding: String, Sendable, Equatable {
    /// zstd, through the project's libzstd wrapper.
    case zstd
    /// gzip, through compress-nio.
    case gzip
    /// No compression.
    case identity
}

/// Compression of JSON answers by `Accept-Encoding`, shared by every endpoint that answers
/// with events (long-poll and history call it).
public enum HTTPCompression {
    /// Answers smaller than this go out uncompressed: compression would not pay for itself.
    public static let minimumSize = 1024

    /// Chooses a coding from an `Accept-Encoding` value: the highest q-value among zstd and
    /// gzip (an explicit entry, else `*`), zstd on a tie, identity when neither is acceptable.
    public static func negotiate(_ acceptEncoding: String?) -> ContentCoding {
        guard let acceptEncoding, !acceptEncoding.isEmpty else { return .identity }
        var weights: [String: Double] = [:]
        for entry in acceptEncoding.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first, !name.isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)).map { min(max($0, 0), 1) } ?? 0
            }
            weights[name] = q
        }
        let wildcard = weights["*"] ?? 0
        let zstd = weights["zstd"] ?? wildcard
        let gzip = weights["gzip"] ?? (weights["x-gzip"] ?? wildcard)
        if zstd > 0, zstd >= gzip { return .zstd }
        if gzip > 0 { return .gzip }
        return .identity
    }

    /// Compresses `body` with `coding`; nil for identity.
    public static func compress(_ body: ByteBuffer, coding: ContentCoding, pool: CompressorPool) throws -> ByteBuffer? {
        switch coding {
        case .identity:
            return nil
        case .zstd:
            return try pool.compress(body)
        case .gzip:
            var input = body
            return try input.compress(with: .gzip())
        }
    }

    /// The body to send for `acceptEncoding` and the coding it is in: compressed when the body
    /// is at least ``minimumSize`` and compression makes it smaller, else unchanged.
    public static func encode(_ body: ByteBuffer, acceptEncoding: String?, pool: CompressorPool) -> (coding: ContentCoding, body: ByteBuffer) {
        let coding = body.readableBytes >= minimumSize ? negotiate(acceptEncoding) : .identity
        if let compressed = try? compress(body, coding: coding, pool: pool), compressed.readableBytes < body.readableBytes {
            return (coding, compressed)
        }
        return (.identity, body)
    }

    /// A JSON response honouring `Accept-Encoding`, with `Content-Encoding` and `Vary`.
    public static func jsonResponse(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, acceptEncoding: String?, pool: CompressorPool) -> Response {
        let (coding, payload) = encode(body, acceptEncoding: acceptEncoding, pool: pool)
        return response(payload, coding: coding, status: status)
    }

    /// A JSON response whose body is already encoded in `coding`, with `Content-Encoding` and `Vary`.
    public static func response(_ payload: ByteBuffer, coding: ContentCoding, status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .vary: "Accept-Encoding"]
        if coding != .identity { headers[.contentEncoding] = coding.rawValue }
        return Response(status: status, headers: headers, body: .init(byteBuffer: payload))
    }
}
