import Foundation

/// One sample of Prometheus text: a series name, its labels and its value.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses Prometheus text (the lines `/metrics` answers) into samples; comments are skipped.
func parseMetrics(_ text: String) -> [MetricSample] {
    text.split(separator: "\n").compactMap { line -> MetricSample? in
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return MetricSample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return MetricSample(name: String(series[..<brace]), labels: labels, value: value)
    }
}

extension Array where Element == MetricSample {
    /// The value of the series `name` whose labels include `labels`, if there is one.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }
}
