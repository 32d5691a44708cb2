import Hummingbird
import NIOCore
import SwitchboardCore

/// `/metrics`, the admin API under `/v1/admin/` and the admin page at `/admin`.
struct AdminRoutes: Sendable {
    /// What the routes show.
    let report: AdminReport
    /// Checks the caller's credentials.
    let access: AccessControl

    /// The topic engine the routes act on.
    var engine: InMemoryTopicEngine { report.engine }

    /// Adds every route to `router`; each checks credentials first (`.admin`, `/metrics` `.metrics`).
    func register(on router: Router<BrokerRequestContext>) {
        router.get("/metrics") { request, _ in
            try await access.check(request, .metrics)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: report.metrics.render()))
            )
        }
        router.get("/admin") { _, _ in
            // The page holds no data; everything it shows comes from calls that need admin credentials.
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: AdminPage.html))
            )
        }
        router.get("/v1/admin/stats") { request, _ in
            try await access.check(request, .admin)
            return Response.json(AdminReport.json(report.stats()))
        }
        router.get("/v1/admin/topics") { request, _ in
            try await access.check(request, .admin)
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            return Response.json(AdminReport.json(["topics": report.topics(prefix: prefix)]))
        }
        router.get("/v1/admin/topics/:topic") { request, context in
            try await access.check(request, .admin)
            let name = try Self.topicName(context)
            guard let topic = report.topic(name) else { throw Self.topicNotFound(name) }
            return Response.json(AdminReport.json(topic))
        }
        router.delete("/v1/admin/topics/:topic") { request, context in
            try await access.check(request, .admin)
            let name = try Self.topicName(context)
            guard engine.deleteTopic(name) else { throw Self.topicNotFound(name) }
            return Response(status: .noContent)
        }
        router.put("/v1/admin/topics/:topic/config") { request, context in
            try await access.check(request, .admin)
            let name = try Self.topicName(context)
            guard let type = request.headers[.contentType], PublishRoutes<BrokerRequestContext>.isJSON(type) else {
                throw APIError(.unsupportedMediaType, message: "A topic's configuration is sent as Content-Type: application/json.")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: 64 * 1024)
            } catch is NIOTooManyBytesError {
                throw APIError(.payloadTooLarge, message: "A configuration body is at most 64 KiB.")
            }
            let current = engine.topicInfo(name)?.limits ?? engine.configuration.ringLimits
            let limits = try TopicConfigRequest.limits(from: body, current: current)
            do throws(EngineError) {
                try engine.setLimits(limits, for: name)
            } catch {
                throw APIError(error)
            }
            guard let topic = report.topic(name) else { throw Self.topicNotFound(name) }
            return Response.json(AdminReport.json(topic))
        }
        router.get("/v1/admin/connections") { request, _ in
            try await access.check(request, .admin)
            return Response.json(AdminReport.json(["connections": report.connections()]))
        }
        router.delete("/v1/admin/connections/:id") { request, context in
            try await access.check(request, .admin)
            let text = context.parameters.get("id") ?? ""
            guard let id = UInt64(text), let connection = report.state.connection(id: id) else {
                throw APIError(.connectionNotFound, message: "No open connection has the id '\(text.prefix(40))'.")
            }
            connection.close(1008, "closed by an operator")
            return Response(status: .noContent)
        }
    }

    private static func topicName(_ context: BrokerRequestContext) throws(APIError) -> String {
        let name = context.parameters.get("topic") ?? ""
        guard TopicName.isValid(name) else { throw APIError.invalidTopic(inPath: name) }
        return name
    }

    private static func topicNotFound(_ name: String) -> APIError {
        APIError(.topicNotFound, message: "No topic is named '\(name)'.")
    }

    /// Whether `path` is one of these routes, for telling 405 from 404.
    static func isKnownPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if ["/metrics", "/admin", "/v1/admin/stats", "/v1/admin/topics", "/v1/admin/connections"].contains(path) { return true }
        guard parts.count >= 5, parts[1] == "v1", parts[2] == "admin" else { return false }
        switch (parts[3], parts.count) {
        case ("topics", 5), ("connections", 5): return !parts[4].isEmpty
        case ("topics", 6): return parts[5] == "config"
        default: return false
        }
    }
}
