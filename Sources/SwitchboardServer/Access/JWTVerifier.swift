import Foundation
import JWTKit

/// Verifies JWTs with the keys the operator configured, through jwt-kit.
///
/// Keys are kept per algorithm (`HS256` from `--jwt-secret`; `RS256` or `ES256` from the
/// PEM in `--jwt-public-key`), and a token is verified only with the key of the algorithm
/// its header names, so a token can never pick another kind of key than the one it was
/// signed for.
struct JWTVerifier: Sendable {
    /// A token that did not verify.
    enum Failure: Error {
        /// The signature, the format or a claim is wrong.
        case invalid
        /// `exp` has passed.
        case expired
    }

    /// jwt-kit's key collections, one per algorithm. `JWTKeyCollection` is an actor whose keys are
    /// added with `await`, so each collection is built by a task started at init and awaited on use.
    private let collections: [String: Task<JWTKeyCollection, Never>]

    /// Whether any key is configured.
    var isConfigured: Bool { !collections.isEmpty }

    /// Loads the keys; throws, naming the file, when the PEM cannot be read or holds no usable key.
    init(secret: String?, publicKeyFile: String?) throws(ConfigurationError) {
        var collections: [String: Task<JWTKeyCollection, Never>] = [:]
        if let secret {
            // jwt-kit wants an HS256 key at least as long as the hash (it asserts so in debug builds).
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError("jwt_secret must be at least 32 bytes long (HS256 needs a 256-bit key); it has \(secret.utf8.count)")
            }
            let key = HMACKey(from: secret)
            collections["HS256"] = Task { await JWTKeyCollection().add(hmac: key, digestAlgorithm: .sha256) }
        }
        if let path = publicKeyFile {
            switch try Self.loadPublicKey(path: path) {
            case .ecdsa(let key):
                collections["ES256"] = Task { await JWTKeyCollection().add(ecdsa: key) }
            case .rsa(let key):
                collections["RS256"] = Task { await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256) }
            }
        }
        self.collections = collections
    }

    /// Verifies `token` and returns its claims.
    func verify(_ token: String) async throws(Failure) -> SwitchboardClaims {
        let bytes = Array(token.utf8)
        // Only the header is used before verification: it picks the key.
        guard let header = try? DefaultJWTParser().parse(bytes, as: SwitchboardClaims.self).header,
              let algorithm = header.alg, let collection = collections[algorithm]
        else { throw .invalid }
        do {
            return try await collection.value.verify(bytes, as: SwitchboardClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .expired
        } catch {
            throw .invalid
        }
    }

    /// A public key read from a PEM file.
    enum PublicKey {
        /// A P-256 key, for ES256.
        case ecdsa(ES256PublicKey)
        /// An RSA key, for RS256.
        case rsa(Insecure.RSA.PublicKey)
    }

    /// Reads a PEM public key (or certificate) and tells its type by trying each.
    static func loadPublicKey(path: String) throws(ConfigurationError) -> PublicKey {
        let pem: String
        do { pem = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError("cannot read the JWT public key file \(path) (jwt_public_key): \(error.localizedDescription)")
        }
        if let key = try? ES256PublicKey(pem: pem) { return .ecdsa(key) }
        if let key = try? Insecure.RSA.PublicKey(pem: pem) { return .rsa(key) }
        if let key = try? ES256PublicKey(certificate: pem) { return .ecdsa(key) }
        if let key = try? Insecure.RSA.PublicKey(certificatePEM: pem) { return .rsa(key) }
        throw ConfigurationError("the JWT public key file \(path) (jwt_public_key) holds no RSA or P-256 (ES256) public key in PEM form")
    }
}
