import Foundation
import Synchronization

/// Credentials: a static token, or a provider called at every connection and again before a
/// JWT's `exp`.
final class TokenSource: Sendable {
    private let staticToken: String?
    private let provider: (@Sendable () async throws -> String?)?
    private let cached = Mutex<(token: String?, refreshAt: Date?)>((nil, nil))

    init(token: String?, provider: (@Sendable () async throws -> String?)?) {
        self.staticToken = token
        self.provider = provider
        if let token { cached.withLock { $0 = (token, nil) } }
    }

    /// When the current token should be replaced (a JWT from a provider, before its `exp`).
    var refreshAt: Date? { cached.withLock { $0.refreshAt } }

    /// A token for a new connection: the provider is asked every time.
    func fresh() async throws -> String? {
        guard let provider else { return staticToken }
        let token = try await provider()
        let refreshAt = token.flatMap(Self.expiry).map { exp in
            exp.addingTimeInterval(-Self.refreshMargin(issued: Date(), expires: exp))
        }
        cached.withLock { $0 = (token, refreshAt) }
        return token
    }

    /// The token to use now (for HTTP): the cached one unless it is due for refresh.
    func current() async throws -> String? {
        guard provider != nil else { return staticToken }
        let (token, refreshAt) = cached.withLock { $0 }
        if token == nil || refreshAt.map({ Date() >= $0 }) == true { return try await fresh() }
        return token
    }

    /// The `exp` claim of a JWT, or `nil` when the token is not a JWT or has none. The signature
    /// is not checked: that is the broker's job.
    static func expiry(_ token: String) -> Date? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        struct Claims: Decodable { var exp: Double? }
        guard let data = Data(base64Encoded: base64),
            let exp = (try? JSONDecoder().decode(Claims.self, from: data))?.exp
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    /// How long before `expires` to fetch the next token: a tenth of its lifetime, 1 to 30 seconds.
    static func refreshMargin(issued: Date, expires: Date) -> TimeInterval {
        min(30, max(1, expires.timeIntervalSince(issued) / 10))
    }
}
