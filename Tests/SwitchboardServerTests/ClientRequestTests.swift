import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// WebSocket control messages are checked strictly, and every error echoes a valid `id`.
@Suite struct ClientRequestTests {
    func failure(_ text: String, zstd: Bool = false) -> ClientRequest.Failure? {
        if case .failure(let failure) = ClientRequest.parse(text, zstd: zstd) { return failure }
        return nil
    }

    @Test func errorsEchoTheIdWhateverElseIsWrong() {
        let cases: [(String, String)] = [
            (#"{"op":"subscribe","topic":5,"id":17}"#, "invalid_request"),
            (#"{"op":"subscribe","topic":"a","since":"x","id":17}"#, "invalid_request"),
            (#"{"op":"subscribe","topic":"a","since":-1,"id":17}"#, "invalid_request"),
            (#"{"op":"subscribe","topic":"a","last":-1,"id":17}"#, "invalid_request"),
            (#"{"op":"subscribe","topic":"a","since":1.5,"id":17}"#, "invalid_request"),
            (#"{"op":"subscribe","topic":"a..b","id":17}"#, "invalid_topic"),
            (#"{"op":"subscribe","id":17}"#, "invalid_request"),
            (#"{"op":7,"id":17}"#, "invalid_request"),
            (#"{"id":17}"#, "invalid_request"),
            (#"{"op":"dance","id":17}"#, "unknown_op"),
        ]
        for (text, code) in cases {
            let failure = failure(text)
            #expect(failure?.code == code, "\(text)")
            #expect(failure?.id == .number("17"), "\(text)")
        }
        #expect(failure(#"{"op":"subscribe","topic":5,"id":"req-1"}"#)?.id == .string("req-1"))
    }

    @Test func anIdOfTheWrongTypeIsTheOneErrorWithoutAnId() {
        for text in [#"{"op":"subscribe","topic":"a","id":true}"#, #"{"op":"subscribe","topic":"a","id":[1]}"#] {
            #expect(failure(text) == ClientRequest.Failure(.invalidRequest, message: "\"id\" has the wrong type: a number or a string.", id: nil))
        }
        #expect(failure("{oops")?.code == "invalid_json")
        #expect(failure("[1]")?.code == "invalid_json")
    }

    @Test func aFieldItsOpDoesNotDefineIsNamed() {
        let typo = failure(#"{"op":"subscribe","topic":"a","sinse":0,"id":3}"#)
        #expect(typo?.code == "invalid_request" && typo?.id == .number("3"))
        #expect(typo?.message.contains("\"sinse\"") == true)
        let unsubscribe = failure(#"{"op":"unsubscribe","topic":"a","since":0}"#)
        #expect(unsubscribe?.code == "invalid_request" && unsubscribe?.message.contains("\"since\"") == true)
    }

    @Test func deltaIsDefinedButNotServedYet() throws {
        #expect(try ClientRequest.parse(#"{"op":"subscribe","topic":"a","delta":false}"#).get().0 == .subscribe(topic: "a", start: .live))
        let plain = failure(#"{"op":"subscribe","topic":"a","delta":true,"id":1}"#)
        #expect(plain?.code == "invalid_request" && plain?.message.contains("zstd") == true && plain?.id == .number("1"))
        let zstd = failure(#"{"op":"subscribe","topic":"a","delta":true,"id":1}"#, zstd: true)
        #expect(zstd?.code == "invalid_request" && zstd?.message.contains("not supported by this broker yet") == true)
        #expect(failure(#"{"op":"subscribe","topic":"a","delta":1}"#)?.code == "invalid_request")
    }

    @Test func goodRequestsParseAsBefore() throws {
        #expect(try ClientRequest.parse(#"{"op":"subscribe","topic":"a","since":41,"epoch":"e","id":1}"#).get().0 == .subscribe(topic: "a", start: .since(41, epoch: "e")))
        #expect(try ClientRequest.parse(#"{"op":"subscribe","topic":"a","last":10}"#).get().0 == .subscribe(topic: "a", start: .last(10)))
        #expect(try ClientRequest.parse(#"{"op":"subscribe","topic":"a","since":18446744073709551615}"#).get().0 == .subscribe(topic: "a", start: .since(.max, epoch: nil)))
        let (operation, id) = try ClientRequest.parse(#"{"op":"unsubscribe","topic":"a","id":"x"}"#).get()
        #expect(operation == .unsubscribe(topic: "a") && id == .string("x"))
    }
}
