import CZstd

/// Decompresses Switchboard's zstd frame bodies into one reused buffer: no allocation per frame
/// (SwitchboardCore's `ZstdDecompressor` returns a fresh `ByteBuffer` each time, and its input
/// must be one too). Single-threaded: one per reader.
final class ZstdInflater {
    private let context: OpaquePointer
    private var output: UnsafeMutableRawBufferPointer
    /// The largest frame content accepted.
    private let maxOutputSize = 64 * 1024 * 1024

    /// A context whose window is capped as the broker's frames need (8 MiB).
    init() throws {
        guard let context = ZSTD_createDCtx() else { throw WebSocketHandshakeError("zstd: out of memory") }
        self.context = context
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 23)
        output = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        output.deallocate()
    }

    /// Decompresses one zstd frame that records its content size and hands the bytes to
    /// `body` (valid only during the call); false when the frame is not valid.
    func inflate(_ source: UnsafeRawBufferPointer, into body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        let size = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN, size <= UInt64(maxOutputSize) else { return false }
        if Int(size) > output.count {
            output.deallocate()
            output = .allocate(byteCount: Int(size), alignment: 16)
        }
        let result = ZSTD_decompressDCtx(context, output.baseAddress, Int(size), source.baseAddress, source.count)
        guard ZSTD_isError(result) == 0, result == Int(size) else { return false }
        body(UnsafeRawBufferPointer(rebasing: output[..<result]))
        return true
    }
}
