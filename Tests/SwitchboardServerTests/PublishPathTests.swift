import Foundation
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// Publishes answered on the event loop (``EventPublisher/answerWithoutSuspending(_:body:remote:)``) and by the router, mixed on
/// one keep-alive connection: what a client pipelining its requests sees.
@Suite struct PublishPathTests {
    @Test func pipelinedRequestsAreAnsweredInOrderWhicheverPathTakesThem() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            let chunked = "POST /v1/topics/mixed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"n\":3}\r\n0\r\n\r\n"
            try socket.send(
                rawPost("mixed", #"{"n":1}"#)
                    + "GET /v1/topics/mixed/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + rawPost("bad..name", #"{"n":0}"#)
                    + rawPost("mixed", #"{"n":2}"#, headers: "Idempotency-Key: k-2\r\n")
                    + chunked
                    + rawPost("mixed", #"{"n":2}"#, headers: "Idempotency-Key: k-2\r\n")
                    + rawPost("mixed", #"{"n":4}"#)
            )
            let text = await socket.received(until: { rawAnswers($0).count == 7 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 7, "\(text)")
            #expect(answers.map(\.status) == [200, 200, 400, 200, 200, 200, 200])
            #expect(parseJSON(answers[0].body)["seq"] as? Int == 1)
            #expect(answers[1].body.contains(#""seq":1"#) && !answers[1].body.contains(#""seq":2"#), "history as of its turn: \(answers[1].body)")
            #expect(answers[2].body.contains(#""code":"invalid_topic""#))
            #expect(parseJSON(answers[3].body)["seq"] as? Int == 2)
            let chunkedSeq = parseJSON(answers[4].body)["seq"] as? Int
            #expect(chunkedSeq == 3, "a chunked body publishes too")
            #expect(parseJSON(answers[5].body)["seq"] as? Int == 2 && parseJSON(answers[5].body)["duplicate"] as? Bool == true)
            #expect(parseJSON(answers[6].body)["seq"] as? Int == 4)
            let stored = try broker.broker.engine.read(topic: "mixed", from: .since(0, epoch: nil), limit: 10, create: false)
            #expect(stored?.events.map { String(buffer: $0.payload) } == [#"{"n":1}"#, #"{"n":2}"#, #"{"n":3}"#, #"{"n":4}"#])
        }
    }

    @Test func aPublishBehindAParkedPollIsAnsweredAfterThePollItWakes() async throws {
        try await withBroker { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send("GET /v1/poll?topics=behind&timeout=60 HTTP/1.1\r\nHost: x\r\n\r\n")
            // (Not `eventually`: Swift 6.3's region checker crashes on that closure here.)
            for _ in 0..<250 where broker.broker.waitingPolls.current == 0 { try await Task.sleep(for: .milliseconds(20)) }
            try #require(broker.broker.waitingPolls.current == 1, "the poll waits")
            let early = await socket.received(for: .milliseconds(200))
            #expect(early.isEmpty, "nothing is answered before the publish")
            try socket.send(rawPost("behind", #"{"n":7}"#))
            let text = await socket.received(until: { rawAnswers($0).count == 2 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 2, "\(text)")
            #expect(answers[0].body.contains(#""data":{"n":7}"#), "first the poll, with the event: \(text)")
            let receipt = parseJSON(answers[1].body)["seq"] as? Int
            #expect(receipt == 1, "then the publish's receipt")
        }
    }

    @Test func aPublishTheEngineRefusesGetsTheContractsErrorAndTheConnectionGoesOn() async throws {
        try await withBroker(BrokerConfiguration(engine: EngineConfiguration(maxTopics: 1))) { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send(rawPost("first", "1") + rawPost("second", "2") + rawPost("first", "3"))
            let text = await socket.received(until: { rawAnswers($0).count == 3 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 3, "\(text)")
            #expect(answers.map(\.status) == [200, 429, 200])
            #expect(answers[1].body.contains(#""code":"limit_reached""#))
            #expect(parseJSON(answers[2].body)["seq"] as? Int == 2)
        }
    }

    /// A publish the engine refuses took one event from the caller's bucket, not two: it is
    /// refused where it was checked, not handed to a second path that charges again.
    @Test func aRefusedPublishCostsOneTokenOfTheRate() async throws {
        let configuration = BrokerConfiguration(engine: EngineConfiguration(maxTopics: 1), publishRate: 1, publishBurst: 3)
        try await withBroker(configuration) { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            // Three tokens: the refused publish, then two that fit; the fourth is over the rate.
            try socket.send(rawPost("first", "1") + rawPost("second", "2") + rawPost("first", "3") + rawPost("first", "4"))
            let text = await socket.received(until: { rawAnswers($0).count == 4 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 4, "\(text)")
            #expect(answers.map(\.status) == [200, 429, 200, 429], "\(text)")
            #expect(answers[1].body.contains(#""code":"limit_reached""#), "the engine's refusal")
            #expect(answers[3].body.contains(#""code":"rate_limited""#), "only the fourth is over the rate")
        }
    }

    @Test func staticTokensPublishAndBadOnesAreRefusedOnTheSameConnection() async throws {
        let credentials = BrokerConfiguration.Credentials(adminToken: "root-token", publishTokens: ["feed-token"])
        try await withBroker(BrokerConfiguration(credentials: credentials)) { broker in
            let socket = try RawHTTPSocket(port: broker.port)
            defer { socket.close() }
            try socket.send(
                rawPost("guarded", "1", headers: "Authorization: Bearer feed-token\r\n")
                    + rawPost("guarded", "2", headers: "Authorization: Bearer wrong\r\n")
                    + rawPost("guarded", "3")
                    + rawPost("_switchboard.stats", "4", headers: "Authorization: Bearer root-token\r\n")
                    + rawPost("guarded", "5", headers: "Authorization: Bearer root-token\r\n")
            )
            let text = await socket.received(until: { rawAnswers($0).count == 5 && $0.hasSuffix("}") })
            let answers = rawAnswers(text)
            try #require(answers.count == 5, "\(text)")
            #expect(answers.map(\.status) == [200, 401, 401, 403, 200])
            let last = parseJSON(answers[4].body)["seq"] as? Int
            #expect(last == 2, "only the two good publishes were stored")
        }
    }
}

/// `POST /v1/topics/{topic}` as raw HTTP/1.1 with a `Content-Length`.
func rawPost(_ topic: String, _ body: String, headers: String = "") -> String {
    "POST /v1/topics/\(topic) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
}

/// The bodies of the responses in `text`, in order, with their status codes.
func rawAnswers(_ text: String) -> [(status: Int, body: String)] {
    text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { response in
        let status = Int(response.prefix(3)) ?? 0
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }
}
