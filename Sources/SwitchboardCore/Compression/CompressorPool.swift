public import NIOCore
import Synchronization

/// Reusable zstd compression contexts shared by fan-out passes.
///
/// A pass checks one context out, compresses its frames and returns it, so no context is
/// allocated per message and there are never more contexts than passes running at once.
public final class CompressorPool: Sendable {
    private final class Slot: Sendable {
        let compressor: Mutex<ZstdCompressor>
        init(level: Int32) throws { self.compressor = Mutex(try ZstdCompressor(level: level)) }
    }

    /// The compression level of every context.
    public let level: Int32
    private let idle = Mutex<[Slot]>([])

    /// Creates a pool whose contexts compress at `level`; throws if the level is out of range.
    public init(level: Int32) throws {
        self.level = level
        let first = try Slot(level: level)
        idle.withLock { $0.append(first) }
    }

    /// Compresses an uncompressed event frame; nil when compression would not make it smaller.
    public func compressFrame(_ frame: ByteBuffer) -> ByteBuffer? {
        guard let slot = checkOut() else { return nil }
        defer { checkIn(slot) }
        return slot.compressor.withLock { compressor in try? EventFrame.compress(frame, with: compressor) } ?? nil
    }

    /// Compresses `source` into one zstd frame.
    public func compress(_ source: ByteBuffer) throws -> ByteBuffer {
        guard let slot = checkOut() else { throw ZstdError(message: "no compression context", operation: "compress") }
        defer { checkIn(slot) }
        return try slot.compressor.withLock { compressor in try compressor.compress(source) }
    }

    private func checkOut() -> Slot? {
        if let reused = idle.withLock({ $0.popLast() }) { return reused }
        return try? Slot(level: level)
    }

    private func checkIn(_ slot: Slot) {
        idle.withLock { $0.append(slot) }
    }
}
