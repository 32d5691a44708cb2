import Foundation
@testable import SwitchboardServer
import Testing

/// A dashboard served from its own origin uses the broker from headless Chromium: poll,
/// publish (with a preflight), SSE and WebSocket when its origin is allowed; refused when not.
@Suite(.serialized) struct CORSBrowserTests {
    /// The page: each transport's outcome, written into the DOM as JSON.
    static func page(brokerPort: Int) -> String {
        """
        <!doctype html><html><body><pre id="out">pending</pre><script>
        const B = "http://127.0.0.1:\(brokerPort)";
        const out = {};
        const settle = (key, promise) => Promise.race([promise, new Promise(r => setTimeout(() => r("timeout"), 3000))])
          .then(v => { out[key] = v; }, e => { out[key] = "error"; });
        (async () => {
          await settle("publish", fetch(B + "/v1/topics/dash", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"p":1}' })
            .then(r => r.json()).then(j => j.seq));
          await settle("poll", fetch(B + "/v1/poll?topics=dash&last=1&timeout=0").then(r => r.json()).then(j => j.events.length));
          await settle("sse", new Promise((resolve, reject) => {
            const es = new EventSource(B + "/v1/sse?topics=dash&last=1");
            es.onmessage = m => { es.close(); resolve(JSON.parse(m.data).seq); };
            es.onerror = () => { es.close(); reject(new Error("sse")); };
          }));
          // Not raced against a timer: headless Chromium's virtual time runs ahead of a socket,
          // so a long-poll held open meanwhile (a pending load) keeps it waiting for real time.
          fetch(B + "/v1/poll?topics=hold&timeout=5").catch(() => {});
          out.ws = await new Promise(resolve => {
            const ws = new WebSocket("ws://127.0.0.1:\(brokerPort)/v1/ws?topics=dash");
            ws.onmessage = m => { ws.close(); resolve(JSON.parse(m.data).type); };
            ws.onerror = () => resolve("error");
          });
          document.getElementById("out").textContent = JSON.stringify(out);
        })();
        </script></body></html>
        """
    }

    /// Serves `html` as `/index.html` from a Python HTTP server on `port`; stops it when `body` ends.
    static func servingPage<T>(_ html: String, on port: Int, _ body: () async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try html.write(to: folder.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", folder.path, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        for _ in 0..<100 {
            if let socket = try? RawHTTPSocket(port: port) {
                socket.close()
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await body()
    }

    /// The page's outcome JSON from the DOM.
    static func outcome(_ dom: String) -> [String: Any] {
        guard let match = dom.firstMatch(of: /<pre id="out">(.*?)<\/pre>/) else { return [:] }
        return parseJSON(String(match.1).replacingOccurrences(of: "&quot;", with: "\""))
    }

    @Test(.enabled(if: Chromium.shouldRun, "chromium is not installed and CI is not set"))
    func aPageOfAnAllowedOriginUsesEveryTransportAndAnotherIsRefused() async throws {
        try #require(Chromium.path != nil, "CI is set but chromium is missing: run scripts/deps.sh")
        let allowedPort = try FreePort.find()
        try await withBroker(BrokerConfiguration(allowedOrigins: ["http://127.0.0.1:\(allowedPort)"])) { broker in
            let html = Self.page(brokerPort: broker.port)
            // The page from the origin the broker was told about.
            let good = try await Self.servingPage(html, on: allowedPort) {
                try await Chromium.dumpDOM("http://127.0.0.1:\(allowedPort)/index.html", budget: .seconds(8))
            }
            let seen = Self.outcome(good)
            #expect(seen["publish"] as? Int == 1, "\(good.suffix(300))")
            #expect(seen["poll"] as? Int == 1)
            #expect(seen["sse"] as? Int == 1)
            #expect(seen["ws"] as? String == "subscribed")

            // The same page from an origin the broker does not allow.
            let otherPort = try FreePort.find()
            let bad = try await Self.servingPage(html, on: otherPort) {
                try await Chromium.dumpDOM("http://127.0.0.1:\(otherPort)/index.html", budget: .seconds(8))
            }
            let refused = Self.outcome(bad)
            #expect(refused["publish"] as? String == "error", "\(bad.suffix(300))")
            #expect(refused["poll"] as? String == "error")
            #expect(refused["sse"] as? String == "error")
            #expect(refused["ws"] as? String == "error")
        }
    }
}
