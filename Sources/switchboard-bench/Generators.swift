import Foundation

/// Realistic payload streams for measurements: ticks and dashboard snapshots.
enum Stream: String, CaseIterable, Sendable {
    /// Stock ticks of about 100–200 bytes: symbol, prices that move a little, volume, timestamp.
    case ticker
    /// Dashboard snapshots of 2–8 KB that change a little each time.
    case dashboard

    /// A deterministic generator for this stream.
    func makeGenerator(seed: UInt64 = 42) -> PayloadGenerator {
        PayloadGenerator(stream: self, seed: seed)
    }
}

/// A small deterministic PRNG so runs are repeatable (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Produces the next payload of a stream.
struct PayloadGenerator {
    let stream: Stream
    private var random: SplitMix64
    private var prices: [String: Double]
    private var metrics: [Double]
    private var sequence = 0
    private static let symbols = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "XOM", "UNH"]
    private static let widgets = (0..<60).map { "widget_\($0)" }

    init(stream: Stream, seed: UInt64) {
        self.stream = stream
        var random = SplitMix64(state: seed)
        var prices: [String: Double] = [:]
        for symbol in Self.symbols { prices[symbol] = Double.random(in: 50...500, using: &random) }
        var metrics: [Double] = []
        for _ in Self.widgets { metrics.append(Double.random(in: 0...10_000, using: &random)) }
        self.random = random
        self.prices = prices
        self.metrics = metrics
    }

    /// The next payload, JSON text, opening with the fields a fan-out subscriber checks:
    /// `{"p":<publisher>,"n":<its sequence>,"ts":<µs>,…}` (see `PayloadStamp`). Ticks are ~150 bytes.
    mutating func next(publisher: Int, number: Int, sentAt: Int64) -> String {
        let stamp = #"{"p":\#(publisher),"n":\#(number),"ts":\#(sentAt),"#
        switch stream {
        case .ticker:
            let tick = next(sentAt: sentAt)
            // Drop the trailing `,"ts":…}` and the opening brace; add sizes so a tick is ~150 bytes.
            let fields = tick.dropFirst().prefix { $0 != "}" }.replacingOccurrences(of: #","ts":\#(sentAt)"#, with: "")
            let sizes = #","bid_size":\#(Int.random(in: 1...9, using: &random) * 100),"ask_size":\#(Int.random(in: 1...9, using: &random) * 100)}"#
            return stamp + fields + sizes
        case .dashboard:
            let snapshot = next(sentAt: sentAt)
            return stamp + snapshot.dropFirst().replacingOccurrences(of: #","ts":\#(sentAt)"#, with: "")
        }
    }

    /// The next payload, JSON text. `sentAt` (µs) is embedded for latency measurements.
    mutating func next(sentAt: Int64) -> String {
        sequence += 1
        switch stream {
        case .ticker:
            let symbol = Self.symbols[Int.random(in: 0..<Self.symbols.count, using: &random)]
            var price = prices[symbol]!
            price *= 1 + Double.random(in: -0.0015...0.0015, using: &random)
            prices[symbol] = price
            let spread = Double(Int.random(in: 1...4, using: &random)) / 100
            let volume = Int.random(in: 1...50, using: &random) * 100
            return String(format: #"{"symbol":"%@","bid":%.2f,"ask":%.2f,"last":%.2f,"volume":%d,"exchange":"XNAS","ts":%lld}"#,
                          symbol, price - spread, price + spread, price, volume, sentAt)
        case .dashboard:
            for _ in 0..<3 {
                let index = Int.random(in: 0..<metrics.count, using: &random)
                metrics[index] += Double.random(in: -25...25, using: &random)
            }
            var parts: [String] = []
            for (index, name) in Self.widgets.enumerated() {
                let value = metrics[index]
                parts.append(String(format: #"{"id":"%@","title":"Orders per minute %d","value":%.2f,"unit":"req/s","status":"%@","trend":[%.1f,%.1f,%.1f]}"#,
                                    name, index, value, value > 5000 ? "warning" : "ok", value * 0.98, value * 0.99, value))
            }
            return #"{"dashboard":"operations","revision":\#(sequence),"ts":\#(sentAt),"widgets":["# + parts.joined(separator: ",") + "]}"
        }
    }
}
