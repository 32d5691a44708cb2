import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import SwitchboardRedis

/// The pipelining handler on an embedded channel: order, pushes, time-outs, bad input, close.
@Suite struct RedisCommandHandlerTests {
    final class Pushes: Sendable {
        let list = Mutex<[RESP3Value]>([])
    }

    let loop = EmbeddedEventLoop()
    let pushes = Pushes()
    let channel: EmbeddedChannel

    init() throws {
        let pushes = self.pushes
        let handler = RedisCommandHandler(limits: .init(), logger: Logger(label: "test")) { push in
            pushes.list.withLock { $0.append(push) }
        }
        channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
    }

    func request(_ commands: [[RedisArgument]], timeout: TimeAmount = .seconds(1)) throws -> [EventLoopFuture<RESP3Value>] {
        var bytes = ByteBuffer()
        var promises: [EventLoopPromise<RESP3Value>] = []
        for command in commands {
            RESP3Encoder.encodeCommand(command, into: &bytes)
            promises.append(loop.makePromise())
        }
        try channel.writeOutbound(RedisRequest(bytes: bytes, replies: promises, timeout: timeout))
        return promises.map(\.futureResult)
    }

    func reply(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    func result(_ future: EventLoopFuture<RESP3Value>) -> Result<RESP3Value, RedisError>? {
        final class Box: Sendable {
            let outcome = Mutex<Result<RESP3Value, RedisError>?>(nil)
        }
        let box = Box()
        future.whenComplete { result in
            box.outcome.withLock { $0 = result.mapError { ($0 as? RedisError) ?? .connectionClosed } }
        }
        return box.outcome.withLock { $0 }
    }

    @Test func repliesMatchCommandsInOrderAndPushesGoAside() throws {
        let futures = try request([["GET", "a"], ["GET", "b"], ["INCR", "c"]])
        let written = try channel.readOutbound(as: ByteBuffer.self)
        #expect(written.map { String(buffer: $0) }?.hasPrefix("*2\r\n$3\r\nGET\r\n$1\r\na\r\n") == true)
        try reply("$1\r\n1\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n$-1\r\n")
        try reply(":")
        #expect(try result(futures[0])?.get() == .blob("1"))
        #expect(try result(futures[1])?.get() == .null)
        #expect(result(futures[2]) == nil)
        try reply("7\r\n")
        #expect(try result(futures[2])?.get() == .integer(7))
        #expect(pushes.list.withLock { $0 } == [.push([.blob("message"), .blob("c"), .blob("p")])])
    }

    @Test func aTimedOutReplyIsDroppedWhenItComes() throws {
        let slow = try request([["DEBUG", "SLEEP", "1"]], timeout: .milliseconds(100))
        loop.advanceTime(by: .milliseconds(50))
        let next = try request([["PING"]], timeout: .seconds(1))
        loop.advanceTime(by: .milliseconds(60))
        #expect(result(slow[0]) == .failure(.timeout))
        #expect(result(next[0]) == nil)
        try reply("+OK\r\n+PONG\r\n")
        #expect(try result(next[0])?.get() == .simple("PONG"))
    }

    @Test func bytesThatAreNotRESPFailEverythingAndClose() throws {
        let futures = try request([["PING"], ["PING"]])
        try reply("+PONG\r\n?garbage\r\n")
        #expect(try result(futures[0])?.get() == .simple("PONG"))
        #expect(result(futures[1]) == .failure(.protocolError))
        #expect(!channel.isActive)
    }

    @Test func aReplyNobodyAskedForClosesTheConnection() throws {
        try reply("+SURPRISE\r\n")
        #expect(!channel.isActive)
        let late = try? request([["PING"]])
        #expect(late.map { result($0[0]) } ?? .failure(.connectionClosed) == .failure(.connectionClosed))
    }

    @Test func closingFailsWhatIsAwaited() throws {
        let futures = try request([["PING"], ["PING"]])
        _ = try channel.finish()
        #expect(futures.allSatisfy { result($0) == .failure(.connectionClosed) })
    }
}
