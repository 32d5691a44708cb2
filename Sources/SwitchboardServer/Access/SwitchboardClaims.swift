import Foundation
import JWTKit

/// The payload of a Switchboard JWT: the standard `exp` and `sub`, and the `switchboard` grant.
struct SwitchboardClaims: JWTPayload {
    /// When the token expires; a token without `exp` does not expire.
    var exp: ExpirationClaim?
    /// Who the token was issued to; names the caller in logs and rate limits.
    var sub: SubjectClaim?
    /// What the token allows; a token without the claim allows nothing.
    var switchboard: Grant?

    /// Called by jwt-kit once the signature checked out: refuses an expired token.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp?.verifyNotExpired()
    }

    /// The expiry in µs since the Unix epoch, if any.
    var expiresAtMicros: Int64? {
        exp.map { Int64(($0.value.timeIntervalSince1970 * 1_000_000).rounded(.down)) }
    }
}
