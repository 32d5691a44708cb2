import HTTPTypes
import Hummingbird
import SwitchboardCore

/// What a WebSocket upgrade request asks for, checked before the upgrade.
struct UpgradeRequest: Sendable {
    static let plainProtocol = "switchboard.v1"
    static let zstdProtocol = "switchboard.v1.zstd"

    /// The subprotocol to answer with, if the client offered any.
    var subprotocol: String?
    /// Whether frames are compressed for this connection.
    var zstd: Bool
    /// Topics to subscribe to at connect, live only, in order and without repeats.
    var topics: [String]
    /// The permessage-deflate offer accepted from `Sec-WebSocket-Extensions`, if any (never on zstd).
    var deflate: PerMessageDeflate.Agreement?

    /// Parses and checks the request; throws the contract's 400 on anything bad.
    init(_ request: Request) throws(APIError) {
        try QueryParameters.check(request.uri, defined: QueryParameters.webSocket)
        let offered = request.headers[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let compression = request.uri.queryParameters.get("compression")
        if let compression, compression != "zstd", compression != "none" {
            throw APIError(.invalidRequest, message: "compression must be zstd or none, not '\(compression.prefix(40))'.")
        }
        if offered.isEmpty {
            subprotocol = nil
            zstd = compression == "zstd"
        } else {
            // The first supported protocol in the client's order wins over ?compression=.
            guard let chosen = offered.first(where: { $0 == Self.plainProtocol || $0 == Self.zstdProtocol }) else {
                throw APIError(.unsupportedProtocol, message: "Offer switchboard.v1.zstd or switchboard.v1 as the WebSocket subprotocol.")
            }
            subprotocol = chosen
            zstd = chosen == Self.zstdProtocol
        }
        deflate = PerMessageDeflate.negotiate(request.headers[values: .secWebSocketExtensions], zstd: zstd)
        topics = []
        if let list = request.uri.queryParameters.get("topics") {
            for name in list.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard TopicName.isValid(name) else { throw APIError(.invalidTopic(name)) }
                if !topics.contains(name) { topics.append(name) }
            }
        }
    }
}
