extension EncodedFrame {
    /// The `ts` of the frame's first event (µs since the Unix epoch), read from the plain bytes.
    public var firstTimestamp: Int64? {
        let start = plain.readerIndex
        guard let topicLength = plain.getInteger(at: start + 1, as: UInt16.self) else { return nil }
        // flags · u16 topic length · topic · u64 first seq · u32 count, then the first event's i64 ts.
        return plain.getInteger(at: start + 3 + Int(topicLength) + 12, as: Int64.self)
    }
}
