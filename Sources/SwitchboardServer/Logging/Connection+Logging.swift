import Logging
import SwitchboardCore

extension Connection {
    /// The metadata every line about this connection carries: id, transport and remote address.
    var logMetadata: Logger.Metadata {
        ["connection": "\(id)", "transport": "\(transport.rawValue)", "remote": "\(remote)"]
    }

    /// Logs one line when the connection opens; `extra` adds transport details (never a token or payload).
    func logOpened(_ logger: Logger, _ extra: Logger.Metadata = [:]) {
        logger.info("connection opened", metadata: logMetadata.merging(extra) { $1 })
    }

    /// Logs one line when the connection ends, with how long it lasted.
    func logClosed(_ logger: Logger, _ extra: Logger.Metadata = [:]) {
        let seconds = Double(WallClock.micros() - connectedAt) / 1_000_000
        var metadata = logMetadata.merging(extra) { $1 }
        metadata["duration_s"] = "\((seconds * 1000).rounded() / 1000)"
        logger.info("connection closed", metadata: metadata)
    }
}
