import Foundation
import HTTPTypes
import JWTKit

/// Mints JWTs for tests, signed by jwt-kit exactly as an issuer would.
///
/// `TestTokens.hs256(publish: ["stocks.*"])` is a token for a broker started with
/// `BrokerConfiguration.Credentials(jwtSecret: TestTokens.secret)`; `exp` is an hour from now
/// unless given (pass a past date for an expired token, `nil` for none).
enum TestTokens {
    /// The HS256 secret the helpers sign with by default (jwt-kit wants at least 32 bytes).
    static let secret = "switchboard-test-secret-of-32-bytes-or-more"

    /// The payload: `exp`, `sub` and the `switchboard` claim.
    struct Claims: JWTPayload {
        /// The `switchboard` claim.
        struct Grant: Codable, Sendable {
            var publish: [String]
            var subscribe: [String]
            var admin: Bool
        }

        var exp: ExpirationClaim?
        var sub: SubjectClaim?
        var switchboard: Grant

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// `Authorization: Bearer <token>`.
    static func bearer(_ token: String) -> HTTPFields {
        [.authorization: "Bearer \(token)"]
    }

    /// An hour from now.
    static var inAnHour: Date { Date().addingTimeInterval(3600) }

    /// A token signed with HS256 and `secret`.
    static func hs256(
        secret: String = TestTokens.secret, publish: [String] = [], subscribe: [String] = [], admin: Bool = false,
        exp: Date? = TestTokens.inAnHour, sub: String? = "test-client"
    ) async throws -> String {
        let keys = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims(publish: publish, subscribe: subscribe, admin: admin, exp: exp, sub: sub))
    }

    /// A token signed with ES256 and `key`.
    static func es256(
        key: ES256PrivateKey, publish: [String] = [], subscribe: [String] = [], admin: Bool = false,
        exp: Date? = TestTokens.inAnHour, sub: String? = "test-client"
    ) async throws -> String {
        let keys = await JWTKeyCollection().add(ecdsa: key)
        return try await keys.sign(claims(publish: publish, subscribe: subscribe, admin: admin, exp: exp, sub: sub))
    }

    /// A token signed with RS256 and the fixed test key in ``TestRSAKey``.
    static func rs256(
        publish: [String] = [], subscribe: [String] = [], admin: Bool = false,
        exp: Date? = TestTokens.inAnHour, sub: String? = "test-client"
    ) async throws -> String {
        let keys = await JWTKeyCollection().add(rsa: try Insecure.RSA.PrivateKey(pem: TestRSAKey.privatePEM), digestAlgorithm: .sha256)
        return try await keys.sign(claims(publish: publish, subscribe: subscribe, admin: admin, exp: exp, sub: sub))
    }

    /// Writes ``TestRSAKey/publicPEM`` to a temporary file and returns its path.
    static func rsaPublicKeyFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-rs256-\(UUID()).pem").path
        try TestRSAKey.publicPEM.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A new P-256 key pair: the private key, and the path of a temporary PEM file with its public key.
    static func es256KeyPair() throws -> (key: ES256PrivateKey, publicKeyFile: String) {
        let key = ES256PrivateKey()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-es256-\(UUID()).pem").path
        try key.publicKey.pemRepresentation.write(toFile: path, atomically: true, encoding: .utf8)
        return (key, path)
    }

    private static func claims(publish: [String], subscribe: [String], admin: Bool, exp: Date?, sub: String?) -> Claims {
        Claims(
            exp: exp.map { ExpirationClaim(value: $0) }, sub: sub.map { SubjectClaim(value: $0) },
            switchboard: .init(publish: publish, subscribe: subscribe, admin: admin)
        )
    }
}

