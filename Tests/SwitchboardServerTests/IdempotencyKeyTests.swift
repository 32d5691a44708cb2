import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardServer
import Testing

/// `Idempotency-Key` over HTTP: a repeat of the same event is a duplicate; another event under the key is 422.
@Suite(.serialized) struct IdempotencyKeyTests {
    @Test func aKeyReusedForAnotherEventIs422AndPublishesNothing() async throws {
        try await withBroker { broker in
            try await broker.http { http in
                let key = HTTPField.Name("Idempotency-Key")!
                func post(_ body: String, type: String = "application/json") async throws -> TestClient.Response {
                    try await http.post("/v1/topics/t", headers: [key: "order-1", .contentType: type], body: ByteBuffer(string: body))
                }
                #expect(try await post(#"{"n":1}"#).json["seq"] as? Int == 1)
                let same = try await post(#"{"n":1}"#)
                #expect(same.status == .ok && same.json["duplicate"] as? Bool == true && same.json["seq"] as? Int == 1)
                let otherBody = try await post(#"{"n":2}"#)
                #expect(otherBody.status == .unprocessableContent && otherBody.errorCode == "idempotency_key_reused", "\(otherBody.bodyText)")
                let otherType = try await post(#"{"n":1}"#, type: "text/plain")
                #expect(otherType.status == .unprocessableContent && otherType.errorCode == "idempotency_key_reused")
                let history = try await http.get("/v1/topics/t/events").json
                #expect(history["seq"] as? Int == 1, "nothing more was published")
            }
        }
    }
}
