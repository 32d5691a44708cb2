import Foundation
import NIOCore
import Testing

@testable import SwitchboardRedis

/// Replays the fuzzer's committed corpus (`Fuzz/corpus/redis/`) the way the fuzz target does, so a
/// finding added there stays a regression test: same outcome whole and split at every byte.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/redis")

    func decode(_ pieces: [ArraySlice<UInt8>], attributes: RESP3Decoder.AttributeHandling) -> String {
        let limits = RESP3Decoder.Limits(maxDepth: 8, maxBulkLength: 4096, maxAggregateCount: 256, maxLineLength: 512)
        var decoder = RESP3Decoder(limits: limits, attributes: attributes)
        var values: [RESP3Value] = []
        do {
            for piece in pieces {
                decoder.feed(piece)
                while let value = try decoder.next() { values.append(value) }
            }
            return "\(values)"
        } catch {
            return "\(values) \(error)"
        }
    }

    @Test func corpusDecodesTheSameWholeAndSplit() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(files.count >= 40)
        for file in files {
            let data = Array(try Data(contentsOf: file))
            guard let first = data.first else { continue }
            let input = data[1...]
            let attributes: RESP3Decoder.AttributeHandling = first & 0x80 == 0 ? .skip : .attach
            let whole = decode([input], attributes: attributes)
            for cut in input.indices {
                #expect(decode([input[..<cut], input[cut...]], attributes: attributes) == whole, "\(file.lastPathComponent) cut at \(cut)")
            }
        }
    }
}
