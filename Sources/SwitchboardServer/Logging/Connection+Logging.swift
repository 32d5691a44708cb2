import Logging
import SwitchboardCore

extension Connection {
    /// The metadata every line about this connection carries: id, transport and remote address.
    var logMetadata: Logger.Metadata {
        ["connection": "\(id)", "transport": "\(transport.rawValue)", "remote": "\(remote)"]
    }

    /// Logs one line at `debug` when the connection opens; `extra` adds transport details
    /// (never a token or payload). Not `info`: a line costs about as much as the rest of a
    /// WebSocket connect (a formatted line and a write to standard error, each way), and a
    /// reconnect storm of thousands of clients would flood the log (issue 13, item 9).
    func logOpened(_ logger: Logger, _ extra: @autoclosure () -> Logger.Metadata = [:]) {
        logger.debug("connection opened", metadata: logMetadata.merging(extra()) { $1 })
    }

    /// Logs one line at `debug` when the connection ends, with how long it lasted.
    func logClosed(_ logger: Logger, _ extra: @autoclosure () -> Logger.Metadata = [:]) {
        guard logger.logLevel <= .debug else { return }
        let seconds = Double(WallClock.micros() - connectedAt) / 1_000_000
        var metadata = logMetadata.merging(extra()) { $1 }
        metadata["duration_s"] = "\((seconds * 1000).rounded() / 1000)"
        logger.debug("connection closed", metadata: metadata)
    }
}
