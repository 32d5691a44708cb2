import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /v1/client.js` and `GET /v1/client/{version}/{file}.js`: the JavaScript client, served
/// by the broker so that a page loads it with no CDN and no build step:
///
/// ```html
/// <script type="module">
///   import { Client } from "http://broker:8080/v1/client.js";
/// </script>
/// ```
///
/// The client is several ES modules (`clients/js/`: the client and its zstd decoder's files,
/// which import each other by relative paths). `/v1/client.js` re-exports the client from
/// `/v1/client/<version>/switchboard.js`, so those relative imports resolve beside it, and
/// every file is served as it is in `clients/js/` (a test checks the copies in
/// `Resources/client/` are the same bytes). `<version>` is a digest of all the files: a file
/// under it never changes, so it is cached for a year (`immutable`), while the entry is cached
/// for an hour and then revalidated, so pages move to a new client within the hour after a
/// broker upgrade (docs/PROTOCOL-NOTES.md). Every answer has a strong `ETag`; `If-None-Match`
/// with it is answered `304`. The script is public and carries no credential, so any origin may
/// load it (`Access-Control-Allow-Origin: *`: a module from another origin is fetched in CORS mode).
struct ClientScriptRoutes: Sendable {
    /// One file as it is served.
    struct File: Sendable {
        let body: ByteBuffer
        let etag: String
    }

    /// The files by name (`switchboard.js`, `zstd.js`, …).
    let files: [String: File]
    /// A digest of every file: the path segment under which they are served.
    let version: String
    /// `/v1/client.js`.
    let entry: File

    /// The entry module for `version`: it re-exports the client's module.
    static func entry(version: String) -> String {
        "export * from \"./client/\(version)/switchboard.js\";\n"
    }

    /// Reads the installed copies of `clients/js/*.js` (none when the resources are missing).
    static func load() -> ClientScriptRoutes {
        var files: [String: File] = [:]
        if let folder = PackageResources.folder("client", holding: "switchboard.js"),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        {
            for name in names where name.hasSuffix(".js") {
                if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) {
                    files[name] = file(Array(data))
                }
            }
        }
        var all: [UInt8] = []
        for name in files.keys.sorted() { all += Array(name.utf8) + [0] + Array(files[name]!.body.readableBytesView) }
        let version = digest(all)
        return ClientScriptRoutes(files: files, version: version, entry: file(Array(entry(version: version).utf8)))
    }

    private static func file(_ bytes: [UInt8]) -> File {
        File(body: ByteBuffer(bytes: bytes), etag: "\"\(digest(bytes))\"")
    }

    /// The first 12 bytes of the SHA-256 of `bytes`, in hex.
    private static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).prefix(12).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Adds the two routes, for `GET` and `HEAD`.
    func register(on router: Router<BrokerRequestContext>) {
        router.get("/v1/client.js") { request, _ in try answer(entryFor: request) }
        router.head("/v1/client.js") { request, _ in try answer(entryFor: request).withoutBody() }
        router.get("/v1/client/:version/:file") { request, context in try answer(fileFor: request, context) }
        router.head("/v1/client/:version/:file") { request, context in try answer(fileFor: request, context).withoutBody() }
    }

    private func answer(entryFor request: Request) throws(APIError) -> Response {
        guard !files.isEmpty else { throw APIError(.notFound, message: "The JavaScript client's files are not installed next to the switchboard binary.") }
        return answer(entry, cache: "public, max-age=3600", request)
    }

    private func answer(fileFor request: Request, _ context: BrokerRequestContext) throws(APIError) -> Response {
        let (asked, name) = (context.parameters.get("version") ?? "", context.parameters.get("file") ?? "")
        guard asked == version, let file = files[name] else {
            throw APIError(.notFound, message: "No client file '\(name.prefix(64))' in version '\(asked.prefix(32))'; load /v1/client.js.")
        }
        return answer(file, cache: "public, max-age=31536000, immutable", request)
    }

    private func answer(_ file: File, cache: String, _ request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8",
            .cacheControl: cache,
            .eTag: file.etag,
            .accessControlAllowOrigin: "*",
        ]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == file.etag || $0 == "*" }) {
            headers[.contentLength] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
    }
}

extension Response {
    /// The answer to a `HEAD`: the same head, with the length the body would have had.
    fileprivate func withoutBody() -> Response {
        var head = self
        let length = body.contentLength
        head.body = .init()  // which sets Content-Length to 0
        if let length { head.headers[.contentLength] = String(length) }
        return head
    }
}

extension String {
    /// The string with `0`s in front up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
