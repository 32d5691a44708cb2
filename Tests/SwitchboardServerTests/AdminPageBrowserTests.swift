import Foundation
import SwitchboardServer
import Testing

/// The admin page in a real browser: Debian's headless Chromium against a broker with traffic.
@Suite(.serialized) struct AdminPageBrowserTests {
    @Test(.enabled(if: Chromium.shouldRun, "chromium is not installed and CI is not set"))
    func liveFiguresAppearInTheBrowser() async throws {
        try #require(Chromium.path != nil, "CI is set but chromium is missing: run scripts/deps.sh")
        try await withBroker { broker in
            let publishing = Task {
                try await broker.http { http in
                    var i = 0
                    while !Task.isCancelled {
                        i += 1
                        for topic in ["ticker.alpha", "ticker.beta", "scores.game-7"] {
                            try await broker.publish(topic, #"{"i":\#(i)}"#, client: http)
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
            defer { publishing.cancel() }
            try await eventually("traffic") { broker.broker.engine.topicInfo("ticker.alpha")?.seq ?? 0 > 5 }
            // Headless Chromium runs the page on virtual time, which races ahead of the broker's
            // first snapshot to a brand-new stats topic; with a listener already there, the page's
            // `last: 1` subscription gets a snapshot at once and then one each second.
            let listener = try await TestSubscriber(url: broker.wsURL + "?topics=_switchboard.stats")
            try await eventually("a snapshot") { !listener.seqs("_switchboard.stats").isEmpty }
            var dom = ""
            for _ in 0..<3 {
                dom = try await Chromium.dumpDOM("http://127.0.0.1:\(broker.port)/admin")
                if dom.contains(#"data-source="ws""#) { break }
            }
            publishing.cancel()
            try await listener.close()

            // Rendered by live snapshots from the stats topic, not by the first HTTP read.
            let updates = try #require(dom.firstMatch(of: /data-live-updates="(\d+)"/), "no body element in: \(dom.prefix(300))")
            #expect(Int(updates.1) ?? 0 >= 1, "no live update reached the page")
            let row = try #require(
                dom.firstMatch(of: /<tr data-topic="ticker\.alpha" data-source="ws">(.*?)<\/tr>/),
                "no live row for ticker.alpha"
            )
            let seq = try #require(String(row.1).firstMatch(of: /<td class="n seq">([\d,]+)<\/td>/), "no seq cell in \(row.1)")
            #expect(Int(seq.1.replacingOccurrences(of: ",", with: "")) ?? 0 > 0)
            let rate = try #require(String(row.1).firstMatch(of: /<span class="rate"[^>]*>([\d.,]+)\/s<\/span>/), "no rate in \(row.1)")
            #expect(Double(rate.1.replacingOccurrences(of: ",", with: "")) ?? 0 > 0)
            #expect(dom.contains("scores.game-7"))
            #expect(dom.contains(#"<span class="tag ws">ws</span>"#), "the page's own WebSocket is listed")
        }
    }

    @Test(.enabled(if: Chromium.shouldRun, "chromium is not installed and CI is not set"))
    func withoutATokenThePageAsksForIt() async throws {
        try #require(Chromium.path != nil, "CI is set but chromium is missing: run scripts/deps.sh")
        // One browser run only: Chromium is heavy on two cores, and other suites run meanwhile
        // (three runs here made the slow-consumer delivery test miss its timing).
        let credentials = BrokerConfiguration.Credentials(adminToken: "root-token")
        try await withBroker(BrokerConfiguration(credentials: credentials)) { broker in
            let refused = try await Chromium.dumpDOM("http://127.0.0.1:\(broker.port)/admin")
            #expect(refused.contains(#"<section class="auth shown" id="authPrompt""#), "the token prompt is shown: \(refused.prefix(300))")
            // (The script holds every text too: look at the elements.)
            #expect(Self.text(of: "authReason", in: refused) == "This broker asks for an admin token (401 unauthorized).")
            #expect(Self.text(of: "topicsEmpty", in: refused) == "Enter the admin token to see topics.", "an empty list is not what a refusal looks like")
            #expect(Self.text(of: "status", in: refused) == "admin token needed")
            #expect(refused.contains(#"<input id="tokenInput""#) && refused.contains(#"class="token shown""#))
            // Which rate is which: the header's is the last second, the table's a one-minute average.
            #expect(refused.contains("Published / s <span class=\"qual\">last second</span>"))
            #expect(refused.contains("Rate / s <span class=\"qual\">1-min avg</span>"))
        }
    }

    /// The text of the element with `id` in a dumped DOM (elements without children only).
    static func text(of id: String, in dom: String) -> String? {
        guard let range = dom.range(of: "id=\"\(id)\"") else { return nil }
        let rest = dom[range.upperBound...]
        guard let open = rest.firstIndex(of: ">"), let close = rest[open...].firstIndex(of: "<") else { return nil }
        return String(rest[rest.index(after: open)..<close])
    }
}
