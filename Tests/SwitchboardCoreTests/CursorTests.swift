import SwitchboardCore
import Testing

/// The opaque cursor: round trips, URL-safety, and garbling detected rather than misread.
struct CursorTests {
    let cursor = Cursor(positions: [
        .init(topic: "stocks.AAPL", epoch: "JEcARSULKPApnX7Z", seq: 42),
        .init(topic: "nba.game-1_2", epoch: "x", seq: .max),
        .init(topic: "z", epoch: "abcdefghijklmnopqrstuvwxyz012345", seq: 0),
    ])

    @Test func roundTripsAndIsURLSafe() throws {
        let text = cursor.encoded()
        #expect(text.utf8.allSatisfy(TopicName.isURLSafe))
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(Cursor(decoding: text) == cursor)
        #expect(cursor.position(of: "z")?.seq == 0)
        #expect(cursor.position(of: "missing") == nil)
    }

    @Test func everySingleCharacterChangeIsRejected() {
        let text = Array(cursor.encoded())
        let alphabet = Array("AZaz09-_")
        for index in text.indices {
            for replacement in alphabet where replacement != text[index] {
                var garbled = text
                garbled[index] = replacement
                #expect(Cursor(decoding: String(garbled)) == nil, "position \(index) → \(replacement)")
            }
        }
    }

    @Test func truncatedExtendedAndForeignTextIsRejected() {
        let text = cursor.encoded()
        for length in 0..<text.count {
            #expect(Cursor(decoding: text.prefix(length)) == nil)
        }
        #expect(Cursor(decoding: text + "AA") == nil)
        for foreign in ["", "garbage", "a.b", "%41", "AQ==", String(repeating: "A", count: 5000)] {
            #expect(Cursor(decoding: foreign) == nil, "\(foreign.prefix(10))")
        }
    }

    @Test func aCursorWithAnInvalidTopicOrRepeatedTopicIsRejectedEvenWithAGoodChecksum() {
        let badTopic = Cursor(positions: [.init(topic: "a..b", epoch: "e", seq: 1)])
        #expect(Cursor(decoding: badTopic.encoded()) == nil)
        let repeated = Cursor(positions: [.init(topic: "a", epoch: "e", seq: 1), .init(topic: "a", epoch: "e", seq: 2)])
        #expect(Cursor(decoding: repeated.encoded()) == nil)
        let badEpoch = Cursor(positions: [.init(topic: "a", epoch: "e/f", seq: 1)])
        #expect(Cursor(decoding: badEpoch.encoded()) == nil)
    }
}
