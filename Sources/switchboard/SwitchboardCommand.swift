import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardServer

/// `switchboard`: runs the broker. Settings come from `--config`, then `SWITCHBOARD_*`
/// variables, then flags, each overriding the one before.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Switchboard: a live-data publish/subscribe broker (HTTP publish, WebSocket, zstd).",
        discussion: Settings.helpText,
        version: "switchboard \(BuildInfo.version)"
    )

    /// The settings as flags, read against the one list of settings (`Settings.definitions`),
    /// so a setting added there is a flag, a variable, a file key and a line of `--help` at once.
    @Argument(parsing: .allUnrecognized, help: .hidden) var arguments: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokerConfiguration: BrokerConfiguration
        let broker: Broker
        var flags: Settings.Layer
        do {
            flags = try Settings.flagLayer(arguments)
        } catch {
            FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let config = flags.removeValue(forKey: "config")?.last ?? environment["SWITCHBOARD_CONFIG"]
        let logLevel = flags.removeValue(forKey: "log_level")?.last ?? environment["SWITCHBOARD_LOG_LEVEL"]
        let level = Logger.Level(rawValue: (logLevel ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchboard")
        do {
            var layers: [(source: Settings.Source, layer: Settings.Layer)] = []
            if let path = config {
                layers.append((.file(path), try Settings.fileLayer(path: path)))
            }
            layers.append((.environment, Settings.environmentLayer(environment)))
            layers.append((.flags, flags))
            brokerConfiguration = try Settings.apply(layers)
            broker = try Broker(configuration: brokerConfiguration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let services = broker.services { host, port in
            // FileHandle writes straight to the descriptor, so the line is out before anything waits on it.
            FileHandle.standardOutput.write(Data((listeningLine(host: host, port: port) + "\n").utf8))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
