import NIOCore

/// Why a byte stream is not valid RESP, or declares more than the decoder's limits allow.
public struct RESP3DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Reason: Sendable, Hashable {
        case unknownType(UInt8)
        case invalidLine
        case invalidInteger
        case invalidDouble
        case invalidBoolean
        case invalidLength
        case invalidVerbatim
        case invalidBigNumber
        case missingTerminator
        case unsupportedStreamed
        case tooDeep
        case bulkTooLong
        case aggregateTooLarge
        case lineTooLong
    }

    private let reason: Reason
    private init(_ reason: Reason) { self.reason = reason }

    /// The first byte of a value is no RESP type.
    public static func unknownType(_ byte: UInt8) -> Self { .init(.unknownType(byte)) }
    /// A line holds a bare CR or LF, or is otherwise malformed.
    public static var invalidLine: Self { .init(.invalidLine) }
    /// An integer is not a 64-bit decimal number.
    public static var invalidInteger: Self { .init(.invalidInteger) }
    /// A double is not a number, `inf`, `-inf` or `nan`.
    public static var invalidDouble: Self { .init(.invalidDouble) }
    /// A boolean is not `t` or `f`.
    public static var invalidBoolean: Self { .init(.invalidBoolean) }
    /// A length or count is negative (other than RESP2's -1) or not a number.
    public static var invalidLength: Self { .init(.invalidLength) }
    /// A verbatim string lacks its `xxx:` format prefix.
    public static var invalidVerbatim: Self { .init(.invalidVerbatim) }
    /// A big number holds something other than an optional sign and digits.
    public static var invalidBigNumber: Self { .init(.invalidBigNumber) }
    /// Bulk data is not followed by CRLF.
    public static var missingTerminator: Self { .init(.missingTerminator) }
    /// Streamed strings or aggregates (`$?`, `*?`), which Redis does not send.
    public static var unsupportedStreamed: Self { .init(.unsupportedStreamed) }
    /// Aggregates nest deeper than the limit.
    public static var tooDeep: Self { .init(.tooDeep) }
    /// A bulk value declares more bytes than the limit.
    public static var bulkTooLong: Self { .init(.bulkTooLong) }
    /// An aggregate declares more elements than the limit.
    public static var aggregateTooLarge: Self { .init(.aggregateTooLarge) }
    /// A line runs past the limit without CRLF.
    public static var lineTooLong: Self { .init(.lineTooLong) }

    /// What is wrong, in words.
    public var description: String {
        switch reason {
        case .unknownType(let b): "unknown RESP type byte 0x\(String(b, radix: 16))"
        case .invalidLine: "malformed RESP line"
        case .invalidInteger: "malformed RESP integer"
        case .invalidDouble: "malformed RESP double"
        case .invalidBoolean: "malformed RESP boolean"
        case .invalidLength: "malformed RESP length"
        case .invalidVerbatim: "verbatim string without a format prefix"
        case .invalidBigNumber: "malformed RESP big number"
        case .missingTerminator: "bulk data not followed by CRLF"
        case .unsupportedStreamed: "streamed RESP3 types are not supported"
        case .tooDeep: "RESP aggregates nested too deep"
        case .bulkTooLong: "RESP bulk value over the length limit"
        case .aggregateTooLarge: "RESP aggregate over the count limit"
        case .lineTooLong: "RESP line over the length limit"
        }
    }
}

extension RESP3Decoder {
    enum Element {
        case value(RESP3Value)
        case aggregate(AggregateKind, Int)
    }

    /// Reads one scalar or one aggregate header; consumes nothing and returns nil when incomplete.
    mutating func readElement() throws(RESP3DecodingError) -> Element? {
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        guard let lineEnd = try findLineEnd(from: start + 1) else { return nil }
        let line = buffer.getSlice(at: start + 1, length: lineEnd - start - 1)!
        let afterLine = lineEnd + 2
        switch type {
        case UInt8(ascii: "+"):
            buffer.moveReaderIndex(to: afterLine)
            return .value(.simpleString(line))
        case UInt8(ascii: "-"):
            buffer.moveReaderIndex(to: afterLine)
            return .value(.simpleError(line))
        case UInt8(ascii: ":"):
            let n = try Self.parseInteger(line, error: .invalidInteger)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.integer(n))
        case UInt8(ascii: "_"):
            guard line.readableBytes == 0 else { throw .invalidLine }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.null)
        case UInt8(ascii: ","):
            let d = try Self.parseDouble(line)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.double(d))
        case UInt8(ascii: "#"):
            let b: Bool
            switch line.readableBytesView.first {
            case UInt8(ascii: "t") where line.readableBytes == 1: b = true
            case UInt8(ascii: "f") where line.readableBytes == 1: b = false
            default: throw .invalidBoolean
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.boolean(b))
        case UInt8(ascii: "("):
            let digits = try Self.parseBigNumber(line)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.bigNumber(digits))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            return try readBulk(type: type, line: line, dataStart: afterLine)
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            if line.readableBytesView.first == UInt8(ascii: "?") { throw .unsupportedStreamed }
            let count = try Self.parseInteger(line, error: .invalidLength)
            buffer.moveReaderIndex(to: afterLine)
            if count == -1 && type == UInt8(ascii: "*") { return .value(.null) }  // RESP2 null array
            guard count >= 0 else { throw .invalidLength }
            let perElement: Int64 = type == UInt8(ascii: "%") || type == UInt8(ascii: "|") ? 2 : 1
            guard count <= Int64(limits.maxAggregateCount) / perElement else { throw .aggregateTooLarge }
            let kind: AggregateKind =
                switch type {
                case UInt8(ascii: "*"): .array
                case UInt8(ascii: "%"): .map
                case UInt8(ascii: "~"): .set
                case UInt8(ascii: ">"): .push
                default: .attribute
                }
            return .aggregate(kind, Int(count))
        default:
            throw .unknownType(type)
        }
    }

    private mutating func readBulk(type: UInt8, line: ByteBuffer, dataStart: Int) throws(RESP3DecodingError) -> Element? {
        if line.readableBytesView.first == UInt8(ascii: "?") { throw .unsupportedStreamed }
        let length = try Self.parseInteger(line, error: .invalidLength)
        if length == -1 && type == UInt8(ascii: "$") {  // RESP2 null bulk string
            buffer.moveReaderIndex(to: dataStart)
            return .value(.null)
        }
        guard length >= 0 else { throw .invalidLength }
        guard length <= Int64(limits.maxBulkLength) else { throw .bulkTooLong }
        let count = Int(length)
        guard buffer.writerIndex - dataStart >= count + 2 else { return nil }
        guard buffer.getInteger(at: dataStart + count, as: UInt16.self) == 0x0D0A else { throw .missingTerminator }
        let data = buffer.getSlice(at: dataStart, length: count)!
        buffer.moveReaderIndex(to: dataStart + count + 2)
        switch type {
        case UInt8(ascii: "$"):
            return .value(.blobString(data))
        case UInt8(ascii: "!"):
            return .value(.blobError(data))
        default:
            guard count >= 4, data.getInteger(at: data.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                throw .invalidVerbatim
            }
            let format = String(decoding: data.readableBytesView.prefix(3), as: UTF8.self)
            return .value(.verbatimString(format: format, data.getSlice(at: data.readerIndex + 4, length: count - 4)!))
        }
    }

    /// The index of the CR of the CRLF ending the line that starts at `from`, or nil if not yet received.
    private func findLineEnd(from: Int) throws(RESP3DecodingError) -> Int? {
        let view = buffer.readableBytesView
        let base = buffer.readerIndex
        let searchStart = view.startIndex + (from - base)
        let limitEnd = min(view.endIndex, searchStart + limits.maxLineLength + 1)
        guard let cr = view[searchStart..<limitEnd].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else {
            if view.endIndex - searchStart > limits.maxLineLength { throw .lineTooLong }
            return nil
        }
        guard view[cr] == 0x0D else { throw .invalidLine }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == 0x0A else { throw .invalidLine }
        return base + (cr - view.startIndex)
    }

    static func parseInteger(_ line: ByteBuffer, error: RESP3DecodingError) throws(RESP3DecodingError) -> Int64 {
        var bytes = line.readableBytesView[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        guard !bytes.isEmpty, bytes.count <= 19 else { throw error }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw error }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            guard !o1, !o2 else { throw error }
            value = a
        }
        return value
    }

    static func parseDouble(_ line: ByteBuffer) throws(RESP3DecodingError) -> Double {
        guard line.readableBytes > 0, line.readableBytes <= 400 else { throw .invalidDouble }
        let text = String(decoding: line.readableBytesView, as: UTF8.self)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default:
            // Decimal only: digits, sign, point and exponent, so Double's hex and "infinity" forms are refused.
            guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x65 || $0 == 0x45 }),
                let d = Double(text)
            else { throw .invalidDouble }
            return d
        }
    }

    static func parseBigNumber(_ line: ByteBuffer) throws(RESP3DecodingError) -> String {
        var bytes = line.readableBytesView[...]
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidBigNumber
        }
        return String(decoding: line.readableBytesView, as: UTF8.self)
    }
}
