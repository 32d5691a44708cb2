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
}
