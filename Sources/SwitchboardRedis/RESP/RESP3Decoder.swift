public import NIOCore

/// An incremental RESP3 (and RESP2) decoder: feed it bytes as they arrive, take whole values out.
///
/// A plain state machine with no I/O. Aggregates under construction are kept on an explicit stack,
/// so a value split across any number of reads is parsed once, and the limits bound what hostile
/// input can make it hold: nesting depth, declared bulk length, declared aggregate count, line length.
public struct RESP3Decoder: Sendable {
    /// What to do with `|` attribute maps.
    public enum AttributeHandling: Sendable {
        /// Drop them: the value they describe comes out bare.
        case skip
        /// Keep them: the value comes out as `.attributed(attributes:value:)`.
        case attach
    }

    /// Bounds on what one value may declare.
    public struct Limits: Sendable, Equatable {
        /// Most aggregates open inside one another.
        public var maxDepth: Int
        /// Longest blob string, blob error or verbatim string, in bytes.
        public var maxBulkLength: Int
        /// Most elements one aggregate may declare (a map's pairs count twice).
        public var maxAggregateCount: Int
        /// Longest simple line (simple string, error, number), in bytes.
        public var maxLineLength: Int

        /// Creates limits; the defaults suit a broker's replies and messages.
        public init(
            maxDepth: Int = 32,
            maxBulkLength: Int = 64 * 1024 * 1024,
            maxAggregateCount: Int = 1 << 20,
            maxLineLength: Int = 64 * 1024
        ) {
            self.maxDepth = maxDepth
            self.maxBulkLength = maxBulkLength
            self.maxAggregateCount = maxAggregateCount
            self.maxLineLength = maxLineLength
        }
    }

    enum AggregateKind: Sendable {
        case array, map, set, push, attribute
    }

    struct Partial: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESP3Value]
        var pendingAttributes: [RESP3MapEntry]?
    }

    /// The limits in force.
    public let limits: Limits
    /// The attribute handling in force.
    public let attributes: AttributeHandling
    var buffer: ByteBuffer
    var stack: [Partial] = []
    var topLevelAttributes: [RESP3MapEntry]?
    /// Set after an error: the stream is out of step and nothing more is decoded.
    var failed: RESP3DecodingError?

    /// Creates a decoder.
    public init(limits: Limits = Limits(), attributes: AttributeHandling = .skip) {
        self.limits = limits
        self.attributes = attributes
        self.buffer = ByteBuffer()
    }

    /// Bytes received and not yet part of a returned value.
    public var bufferedBytes: Int { buffer.readableBytes }

    /// Appends received bytes.
    public mutating func feed(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
            return
        }
        if buffer.readerIndex > 4096 && buffer.readerIndex * 2 > buffer.capacity {
            buffer.discardReadBytes()
        }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        feed(ByteBuffer(bytes: bytes))
    }

    /// The next whole value, or nil when more bytes are needed. After a throw the decoder stays failed.
    public mutating func next() throws(RESP3DecodingError) -> RESP3Value? {
        if let failed { throw failed }
        do {
            return try decodeNext()
        } catch {
            failed = error
            throw error
        }
    }

    private mutating func decodeNext() throws(RESP3DecodingError) -> RESP3Value? {
        while true {
            guard let element = try readElement() else { return nil }
            var value: RESP3Value
            switch element {
            case .value(let v):
                value = v
            case .aggregate(let kind, let count):
                if count > 0 {
                    guard stack.count < limits.maxDepth else { throw .tooDeep }
                    let declared = kind == .map || kind == .attribute ? count * 2 : count
                    var partial = Partial(kind: kind, remaining: declared, elements: [], pendingAttributes: nil)
                    partial.elements.reserveCapacity(min(declared, 64))
                    stack.append(partial)
                    continue
                }
                value = Self.finish(kind, [])
                if kind == .attribute {
                    attachAttributes([])
                    continue
                }
            }
            // A whole value: hand it to the aggregate it belongs to, closing those it completes.
            while true {
                if stack.isEmpty {
                    if let attrs = topLevelAttributes {
                        topLevelAttributes = nil
                        value = .attributed(attributes: attrs, value: value)
                    }
                    return value
                }
                var top = stack.removeLast()
                if let attrs = top.pendingAttributes {
                    top.pendingAttributes = nil
                    value = .attributed(attributes: attrs, value: value)
                }
                top.elements.append(value)
                top.remaining -= 1
                if top.remaining > 0 {
                    stack.append(top)
                    break
                }
                if top.kind == .attribute {
                    attachAttributes(Self.pairs(top.elements))
                    break
                }
                value = Self.finish(top.kind, top.elements)
            }
        }
    }

    private mutating func attachAttributes(_ entries: [RESP3MapEntry]) {
        guard attributes == .attach else { return }
        if stack.isEmpty {
            topLevelAttributes = entries
        } else {
            stack[stack.count - 1].pendingAttributes = entries
        }
    }

    private static func pairs(_ elements: [RESP3Value]) -> [RESP3MapEntry] {
        stride(from: 0, to: elements.count - 1, by: 2).map { RESP3MapEntry(key: elements[$0], value: elements[$0 + 1]) }
    }

    private static func finish(_ kind: AggregateKind, _ elements: [RESP3Value]) -> RESP3Value {
        switch kind {
        case .array: .array(elements)
        case .set: .set(elements)
        case .push: .push(elements)
        case .map, .attribute: .map(pairs(elements))
        }
    }
}
