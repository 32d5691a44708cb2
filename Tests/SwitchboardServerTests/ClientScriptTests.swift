import Foundation
import HTTPTypes
import NIOCore
@testable import SwitchboardServer
import Testing

/// `GET /v1/client.js`: the JavaScript client served by the broker, the same bytes as
/// `clients/js/`, cacheable, and loadable from any origin.
@Suite struct ClientScriptTests {
    /// The repository's `clients/js` folder.
    private static let clientFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("clients/js")
    private static let resourceFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/SwitchboardServer/Resources/client")

    private static func jsFiles(in folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".js") {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return files
    }

    @Test func theServedCopiesAreTheClientsOwnFiles() throws {
        let client = try Self.jsFiles(in: Self.clientFolder)
        #expect(client["switchboard.js"] != nil)
        #expect(try Self.jsFiles(in: Self.resourceFolder) == client, "run scripts/sync-client.sh after changing clients/js")
    }

    @Test func theEntryAndEveryFileAreServedCacheableToAnyOrigin() async throws {
        let client = try Self.jsFiles(in: Self.clientFolder)
        try await withBroker { broker in
            try await broker.http { http in
                let entry = try await http.get("/v1/client.js", headers: [.origin: "http://dashboard.example"])
                #expect(entry.status == .ok)
                let version = try #require(entry.bodyText.firstMatch(of: /^export \* from "\.\/client\/([0-9a-f]{24})\/switchboard\.js";\n$/)?.1)
                #expect(entry.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(entry.headers[.accessControlAllowOrigin] == "*")
                #expect(entry.headers[.cacheControl] == "public, max-age=3600")
                for (name, bytes) in client {
                    let file = try await http.get("/v1/client/\(version)/\(name)")
                    #expect(file.status == .ok, "\(name)")
                    #expect(file.body.map { Data($0.readableBytesView) } == bytes, "\(name) is served as it is in clients/js")
                    #expect(file.headers[.cacheControl] == "public, max-age=31536000, immutable")
                }
                let head = try await http.execute(.init("/v1/client.js", method: .head))
                #expect(head.status == .ok && head.headers[.contentLength] == String(entry.bodyText.utf8.count))
                #expect(try await http.get("/v1/client/0123456789abcdef01234567/switchboard.js").status == .notFound, "another version")
                let missing = try await http.get("/v1/client/\(version)/nothing.js")
                #expect(missing.status == .notFound)
                #expect(missing.errorCode == "not_found")
            }
        }
    }

    @Test func anAllowedOriginStillGetsOneAllowOriginField() async throws {
        try await withBroker(BrokerConfiguration(allowedOrigins: ["http://dashboard.example"])) { broker in
            try await broker.http { http in
                let entry = try await http.get("/v1/client.js", headers: [.origin: "http://dashboard.example"])
                // Browsers refuse a module whose answer names two origins.
                #expect(entry.headers[values: .accessControlAllowOrigin] == ["*"])
            }
        }
    }

    @Test func aCachedCopyIsRevalidatedWithItsETag() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let first = try await http.get("/v1/client.js")
                let etag = try #require(first.headers[.eTag])
                let again = try await http.get("/v1/client.js", headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
                #expect(again.body.map(\.readableBytes) ?? 0 == 0)
                let other = try await http.get("/v1/client.js", headers: [.ifNoneMatch: "\"stale\""])
                #expect(other.status == .ok)
            }
        }
    }
}
