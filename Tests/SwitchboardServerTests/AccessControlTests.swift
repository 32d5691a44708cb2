import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import NIOCore
@testable import SwitchboardServer
import Testing

/// Patterns, grants and `AccessControl` without a socket.
@Suite struct AccessControlTests {
    /// A request as Hummingbird hands it to a route.
    static func request(_ path: String = "/v1/admin/stats", token: String? = nil, authorization: String? = nil) -> Request {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let authorization { fields[.authorization] = authorization }
        let head = HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1", path: path, headerFields: fields)
        return Request(head: head, body: .init(buffer: ByteBuffer()))
    }

    static func status(_ body: () async throws(APIError) -> Void) async -> Int {
        do throws(APIError) {
            try await body()
            return 200
        } catch {
            return error.status.code
        }
    }

    @Test func patternsMatchExactNamesPrefixesAndEverything() {
        let prefix = TopicPattern("prefix.*")
        #expect(prefix.matches("prefix.a") && prefix.matches("prefix.a.b"))
        #expect(!prefix.matches("prefix"), "prefix.* does not match prefix itself")
        #expect(!prefix.matches("prefixfoo.x"), "prefix.* needs the dot")
        #expect(!prefix.matches("other.prefix.a"))
        let star = TopicPattern("*")
        #expect(["a", "a.b", "nba.game.1234", "x-y_z"].allSatisfy(star.matches))
        let exact = TopicPattern("nba.game.1234")
        #expect(exact.matches("nba.game.1234") && !exact.matches("nba.game.12345") && !exact.matches("nba.game"))
        #expect(!TopicPattern("stocks*").matches("stocks.AAPL"), "only `prefix.*` is a wildcard")
        let grant = Grant(publish: [prefix], subscribe: [star, exact], admin: false)
        #expect(grant.allows(.publish("prefix.x")) && !grant.allows(.publish("a")))
        #expect(grant.allows(.subscribe("anything")) && !grant.allows(.admin) && !grant.allows(.metrics))
    }

    @Test func theClaimDecodesWithMissingFieldsAllowingNothing() throws {
        let grant = try JSONDecoder().decode(Grant.self, from: Data(#"{"subscribe":["a.*"]}"#.utf8))
        #expect(grant == Grant(subscribe: [TopicPattern("a.*")]))
        #expect(!grant.allows(.publish("a.b")) && !grant.allows(.admin))
    }

    @Test func adminAndMetricsPermissions() async throws {
        let access = try AccessControl(credentials: .init(jwtSecret: TestTokens.secret))
        let admin = try await TestTokens.hs256(admin: true)
        let notAdmin = try await TestTokens.hs256(publish: ["*"], subscribe: ["*"])
        let expired = try await TestTokens.hs256(admin: true, exp: Date().addingTimeInterval(-60))
        let forged = try await TestTokens.hs256(secret: "another secret, also long enough for HS256", admin: true)
        for permission in [Permission.admin, .metrics] {
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(), permission) } == 401, "no token")
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(token: notAdmin), permission) } == 403)
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(token: expired), permission) } == 401)
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(token: forged), permission) } == 401)
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(token: "garbage"), permission) } == 401)
            #expect(await Self.status { () async throws(APIError) in try await access.check(Self.request(token: admin), permission) } == 200)
        }
        let principal = try await access.authenticate(Self.request(token: admin), allowQueryToken: false)
        #expect(principal.name == "jwt:test-client")
        #expect(principal.expiresAt != nil)
    }

    @Test func metricsArePublicWhenAskedOrWhenNoCredentialsAreConfigured() async throws {
        let open = try AccessControl(credentials: .init())
        #expect(await Self.status { () async throws(APIError) in try await open.check(Self.request(), .metrics) } == 200)
        #expect(await Self.status { () async throws(APIError) in try await open.check(Self.request(), .admin) } == 200)
        let publicMetrics = try AccessControl(credentials: .init(jwtSecret: TestTokens.secret, metricsPublic: true))
        #expect(await Self.status { () async throws(APIError) in try await publicMetrics.check(Self.request(), .metrics) } == 200)
        #expect(await Self.status { () async throws(APIError) in try await publicMetrics.check(Self.request(), .admin) } == 401)
    }

    @Test func staticTokens() async throws {
        let access = try AccessControl(credentials: .init(adminToken: "root-token", publishTokens: ["feed-a", "feed-b"]))
        let root = try await access.authenticate(token: "root-token")
        for permission in [Permission.admin, .metrics, .publish("a"), .subscribe("b.c")] { #expect(root.allows(permission)) }
        let feed = try await access.authenticate(token: "feed-b")
        #expect(feed.name == "publish-token-2" && feed.allows(.publish("any.topic")))
        #expect(!feed.allows(.subscribe("any.topic")) && !feed.allows(.admin) && !feed.allows(.metrics))
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(token: "feed-c") } == 401)
        // No JWT key configured: a JWT is just an unknown token.
        let jwt = try await TestTokens.hs256(admin: true)
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(token: jwt) } == 401)
    }

    @Test func tokensComeFromTheBearerHeaderOrTheQueryWhereAllowed() async throws {
        let access = try AccessControl(credentials: .init(adminToken: "root-token"))
        let query = Self.request("/v1/ws?topics=a&token=root-token")
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(query, allowQueryToken: true) } == 200)
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(query, allowQueryToken: false) } == 401)
        let basic = Self.request(authorization: "Basic cm9vdDp0b2tlbg==")
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(basic, allowQueryToken: true) } == 401)
    }

    @Test func es256KeysAreDetectedFromThePEM() async throws {
        let pair = try TestTokens.es256KeyPair()
        defer { try? FileManager.default.removeItem(atPath: pair.publicKeyFile) }
        let access = try AccessControl(credentials: .init(jwtPublicKeyFile: pair.publicKeyFile))
        let good = try await TestTokens.es256(key: pair.key, subscribe: ["a.*"])
        let principal = try await access.authenticate(token: good)
        #expect(principal.allows(.subscribe("a.b")) && !principal.allows(.subscribe("b")))
        // An HS256 token is refused: this broker has no HS256 key.
        let hs = try await TestTokens.hs256(subscribe: ["*"])
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(token: hs) } == 401)
        let other = try await TestTokens.es256(key: ES256PrivateKey(), subscribe: ["*"])
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(token: other) } == 401)
    }

    @Test func rs256KeysAreDetectedFromThePEMAndBothKindsCanBeConfigured() async throws {
        let path = try TestTokens.rsaPublicKeyFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let access = try AccessControl(credentials: .init(jwtSecret: TestTokens.secret, jwtPublicKeyFile: path))
        let rs = try await access.authenticate(token: try await TestTokens.rs256(publish: ["a.*"], sub: "feed"))
        #expect(rs.name == "jwt:feed" && rs.allows(.publish("a.b")) && !rs.allows(.publish("b")))
        let hs = try await access.authenticate(token: try await TestTokens.hs256(subscribe: ["x"]))
        #expect(hs.allows(.subscribe("x")))
        let expired = try await TestTokens.rs256(publish: ["*"], exp: Date().addingTimeInterval(-5))
        #expect(await Self.status { () async throws(APIError) in _ = try await access.authenticate(token: expired) } == 401)
    }

    @Test func aShortSecretRefusesToStart() {
        #expect(throws: ConfigurationError.self) { try AccessControl(credentials: .init(jwtSecret: "short")) }
    }

    @Test func anUnusableKeyFileRefusesToStart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-bad-\(UUID()).pem").path
        try "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for file in [path, "/nonexistent/switchboard.pem"] {
            do {
                _ = try Broker(configuration: BrokerConfiguration(credentials: .init(jwtPublicKeyFile: file)))
                Issue.record("started with \(file)")
            } catch let error as ConfigurationError {
                #expect(error.description.contains(file) && error.description.contains("jwt_public_key"))
            }
        }
    }

    @Test func nonLoopbackNeedsCredentialsOrAllowAnonymous() throws {
        let open = BrokerConfiguration(host: "0.0.0.0")
        #expect(throws: ConfigurationError.self) { try open.validate() }
        do { try open.validate() } catch { #expect(error.description.contains("--allow-anonymous")) }
        try BrokerConfiguration(host: "0.0.0.0", allowAnonymous: true).validate()
        try BrokerConfiguration(host: "0.0.0.0", credentials: .init(jwtSecret: TestTokens.secret)).validate()
        try BrokerConfiguration(host: "::1").validate()
    }

    @Test func theBrokersOwnTopicsAreReadByAdminsAndPublishedByNobody() async throws {
        let access = try AccessControl(credentials: .init(jwtSecret: TestTokens.secret))
        let reader = try await access.authenticate(token: try await TestTokens.hs256(publish: ["*"], subscribe: ["*"]))
        let admin = try await access.authenticate(token: try await TestTokens.hs256(admin: true))
        let stats = "_switchboard.stats"
        #expect(await Self.status { () throws(APIError) in try access.authorize(reader, .subscribe(stats)) } == 403)
        #expect(await Self.status { () throws(APIError) in try access.authorize(admin, .subscribe(stats)) } == 200)
        #expect(await Self.status { () throws(APIError) in try access.authorize(reader, .subscribe("stocks.AAPL")) } == 200)
        for principal in [reader, admin, Principal.anonymous] {
            #expect(await Self.status { () throws(APIError) in try access.authorize(principal, .publish(stats)) } == 403)
        }
        #expect(await Self.status { () throws(APIError) in try access.authorize(.anonymous, .subscribe(stats)) } == 200, "no credentials: open")
    }
}
