import HummingbirdTesting
import NIOCore
import SwitchboardServer
import Testing

/// A topic in the path is checked like any other: empty is `invalid_topic`, and messages show it decoded.
@Suite(.serialized) struct TopicInPathTests {
    @Test func anEmptyTopicIsInvalidTopicNotAWrongMethod() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let publish = try await http.post("/v1/topics/", body: ByteBuffer(string: "x"))
                #expect(publish.status == .badRequest && publish.errorCode == "invalid_topic", "\(publish.bodyText)")
                let history = try await http.get("/v1/topics//events")
                #expect(history.status == .badRequest && history.errorCode == "invalid_topic", "\(history.bodyText)")
                #expect(try await http.get("/v1/topics/").status == .methodNotAllowed, "a wrong method is still 405")
            }
        }
    }

    @Test func aTopicInAnErrorMessageIsShownDecoded() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                for response in [
                    try await http.post("/v1/topics/has%20space", body: ByteBuffer(string: "x")),
                    try await http.get("/v1/topics/has%20space/events"),
                    try await http.get("/v1/admin/topics/has%20space"),
                ] {
                    #expect(response.errorCode == "invalid_topic")
                    #expect(response.bodyText.contains("'has space'") && !response.bodyText.contains("%20"), "\(response.bodyText)")
                }
            }
        }
    }
}
