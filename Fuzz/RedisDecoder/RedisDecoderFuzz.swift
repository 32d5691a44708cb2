// libFuzzer target for the RESP3 decoder: any bytes, cut at a point the input chooses, must decode
// to values or a RESP3DecodingError, never crash, hang or read out of bounds; and the values must be
// the same whether the bytes come in one piece or two.
import NIOCore
import SwitchboardRedis

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let first = bytes.first else { return 0 }
    let input = bytes.dropFirst()
    let limits = RESP3Decoder.Limits(maxDepth: 8, maxBulkLength: 4096, maxAggregateCount: 256, maxLineLength: 512)
    let attributes: RESP3Decoder.AttributeHandling = first & 0x80 == 0 ? .skip : .attach

    let whole = decode([ByteBuffer(bytes: input)], limits: limits, attributes: attributes)
    let cut = input.isEmpty ? 0 : Int(first & 0x7F) % (input.count + 1)
    let pieces = [ByteBuffer(bytes: input.prefix(cut)), ByteBuffer(bytes: input.dropFirst(cut))]
    let split = decode(pieces, limits: limits, attributes: attributes)
    if whole != split {
        fatalError("split at \(cut) decoded differently: \(whole) vs \(split)")
    }
    for value in whole.values { _ = value.string; _ = value.array; _ = value.mapEntries; _ = value.int }
    return 0
}

struct Outcome: Equatable {
    var values: [RESP3Value]
    var error: RESP3DecodingError?

    static func == (a: Outcome, b: Outcome) -> Bool {
        // NaN is not equal to itself: compare descriptions, which are equal for equal values.
        a.error == b.error && (a.values == b.values || "\(a.values)" == "\(b.values)")
    }
}

func decode(_ pieces: [ByteBuffer], limits: RESP3Decoder.Limits, attributes: RESP3Decoder.AttributeHandling) -> Outcome {
    var decoder = RESP3Decoder(limits: limits, attributes: attributes)
    var outcome = Outcome(values: [], error: nil)
    do {
        for piece in pieces {
            decoder.feed(piece)
            while let value = try decoder.next() { outcome.values.append(value) }
        }
    } catch {
        outcome.error = error
    }
    return outcome
}
