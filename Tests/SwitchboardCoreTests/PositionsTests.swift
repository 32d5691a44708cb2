import Testing
@testable import SwitchboardCore

/// `positions=<topic>:<epoch>:<seq>,…` parses to a cursor's positions, or names what is wrong.
@Suite struct PositionsTests {
    @Test func triplesParseToPositions() throws {
        let positions = try Cursor.positions(parsing: "a:e1:41,b.c:X_y-Z~.:0", topics: ["a", "b.c", "d"])
        #expect(positions == [Cursor.Position(topic: "a", epoch: "e1", seq: 41), Cursor.Position(topic: "b.c", epoch: "X_y-Z~.", seq: 0)])
        #expect(try Cursor.positions(parsing: "a:e:18446744073709551615", topics: ["a"]).first?.seq == .max)
    }

    @Test func everyBadShapeIsRefused() {
        let bad = [
            "", "a", "a:e", "a:e:1:2", "a:e:1,", ",a:e:1", "a::1", "a:e:", "a:e:-1", "a:e:+1", "a:e:1.5", "a:e:x",
            "a:e:18446744073709551616", "z:e:1", "a:e:1,a:e:2", "a:\(String(repeating: "e", count: 33)):1", "a:e%20f:1",
        ]
        for text in bad {
            #expect(throws: PositionsError.self, "\(text)") { try Cursor.positions(parsing: text, topics: ["a", "b"]) }
        }
    }
}
