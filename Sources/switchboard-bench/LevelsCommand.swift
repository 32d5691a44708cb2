import ArgumentParser
import Foundation
import NIOCore
import SwitchboardCore

/// Compression ratio and speed of each zstd level on the realistic streams.
struct LevelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "levels", abstract: "zstd ratio and speed per level on ticker and dashboard frames.")

    @Option(help: "Events per frame (1 = light traffic; more = a batch under load).") var batch = 1
    @Option(help: "Frames to compress per level.") var frames = 2000

    func run() throws {
        print("stream     level  batch  plain B/frame  zstd B/frame  ratio  MB/s (plain in)  µs/frame")
        for stream in Stream.allCases {
            var generator = stream.makeGenerator()
            var seq: UInt64 = 0
            let encoded: [ByteBuffer] = (0..<frames).map { _ in
                let events = (0..<batch).map { _ -> Event in
                    seq += 1
                    return Event(seq: seq, ts: nowMicros(), payload: ByteBuffer(string: generator.next(sentAt: nowMicros())), contentType: "")
                }
                return EventFrame.encode(topic: "bench.\(stream)", events: events)
            }
            let plainBytes = encoded.reduce(0) { $0 + $1.readableBytes }
            for level: Int32 in [1, 2, 3, 5, 9, 19] {
                let compressor = try ZstdCompressor(level: level)
                var compressedBytes = 0
                let start = DispatchTime.now().uptimeNanoseconds
                for frame in encoded {
                    compressedBytes += (try EventFrame.compress(frame, with: compressor))?.readableBytes ?? frame.readableBytes
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                print(String(format: "%-10@ %5d  %5d  %13.1f  %12.1f  %5.2f  %15.0f  %8.2f",
                             stream.rawValue, level, batch, Double(plainBytes) / Double(frames), Double(compressedBytes) / Double(frames),
                             Double(plainBytes) / Double(compressedBytes), Double(plainBytes) / seconds / 1e6, seconds * 1e6 / Double(frames)))
            }
        }
    }
}
