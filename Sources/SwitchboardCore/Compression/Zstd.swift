import CZstd
public import NIOCore

/// An error reported by libzstd, carrying zstd's own message.
public struct ZstdError: Error, CustomStringConvertible, Equatable {
    /// zstd's description of what went wrong.
    public let message: String
    /// The operation that failed.
    public let operation: String

    init(code: Int, operation: String) {
        self.message = String(cString: ZSTD_getErrorName(code))
        self.operation = operation
    }

    init(message: String, operation: String) {
        self.message = message
        self.operation = operation
    }

    public var description: String { "zstd \(operation) failed: \(message)" }
}

/// A reusable zstd compression context. Every call into libzstd for compression lives here.
///
/// Written by hand over the C library because no listed package wraps zstd. One context is
/// allocated per compressor and reused for every frame; it is not thread-safe, so each
/// fan-out pass checks one out of a ``CompressorPool``.
public final class ZstdCompressor {
    private let context: OpaquePointer
    /// The compression level in use.
    public let level: Int32

    /// The largest compressed size of `sourceSize` bytes.
    public static func bound(_ sourceSize: Int) -> Int { ZSTD_compressBound(sourceSize) }

    /// The levels libzstd accepts.
    public static var levels: ClosedRange<Int32> { ZSTD_minCLevel()...ZSTD_maxCLevel() }

    /// Creates a context at `level` (default 3), with content size written and a window of at most 8 MiB.
    public init(level: Int32 = 3) throws {
        guard Self.levels.contains(level) else {
            throw ZstdError(message: "level \(level) is outside \(Self.levels)", operation: "init")
        }
        guard let context = ZSTD_createCCtx() else {
            throw ZstdError(message: "out of memory", operation: "init")
        }
        self.context = context
        self.level = level
        try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level")
        try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1), "set content size flag")
        try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, 23), "set window")
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses the readable bytes of `source` as one zstd frame appended to `out`.
    public func compress(_ source: ByteBuffer, into out: inout ByteBuffer) throws {
        let bound = Self.bound(source.readableBytes)
        let context = self.context
        let written: Int = try source.withUnsafeReadableBytes { src in
            try out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
                let result = ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
                if ZSTD_isError(result) != 0 { throw ZstdError(code: result, operation: "compress") }
                return result
            }
        }
        _ = written
    }

    /// Compresses `source` into a new buffer holding one zstd frame.
    public func compress(_ source: ByteBuffer) throws -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: Self.bound(source.readableBytes))
        try compress(source, into: &out)
        return out
    }

    private static func check(_ result: Int, _ operation: String) throws {
        if ZSTD_isError(result) != 0 { throw ZstdError(code: result, operation: operation) }
    }
}

/// A reusable zstd decompression context. Every call into libzstd for decompression lives here.
public final class ZstdDecompressor {
    private let context: OpaquePointer
    /// The largest decompressed size accepted, so a hostile frame cannot exhaust memory.
    public let maxOutputSize: Int

    /// Creates a context that refuses frames that decompress to more than `maxOutputSize` bytes.
    public init(maxOutputSize: Int = 64 * 1024 * 1024) throws {
        guard let context = ZSTD_createDCtx() else {
            throw ZstdError(message: "out of memory", operation: "init")
        }
        self.context = context
        self.maxOutputSize = maxOutputSize
        // Frames the broker writes use a window of at most 8 MiB (2^23).
        let result = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 23)
        if ZSTD_isError(result) != 0 {
            ZSTD_freeDCtx(context)
            throw ZstdError(code: result, operation: "set window")
        }
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one zstd frame that records its content size.
    public func decompress(_ source: ByteBuffer) throws -> ByteBuffer {
        let context = self.context
        let maxOutputSize = self.maxOutputSize
        return try source.withUnsafeReadableBytes { src -> ByteBuffer in
            let size = ZSTD_getFrameContentSize(src.baseAddress, src.count)
            if size == ZSTD_CONTENTSIZE_ERROR {
                throw ZstdError(message: "not a zstd frame", operation: "decompress")
            }
            if size == ZSTD_CONTENTSIZE_UNKNOWN {
                throw ZstdError(message: "frame does not record its content size", operation: "decompress")
            }
            guard size <= UInt64(maxOutputSize) else {
                throw ZstdError(message: "content size \(size) exceeds \(maxOutputSize)", operation: "decompress")
            }
            var out = ByteBufferAllocator().buffer(capacity: Int(size))
            try out.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(size)) { dst in
                let result = ZSTD_decompressDCtx(context, dst.baseAddress, Int(size), src.baseAddress, src.count)
                if ZSTD_isError(result) != 0 { throw ZstdError(code: result, operation: "decompress") }
                guard result == Int(size) else {
                    throw ZstdError(message: "decoded \(result) bytes, frame says \(size)", operation: "decompress")
                }
                return result
            }
            return out
        }
    }
}
