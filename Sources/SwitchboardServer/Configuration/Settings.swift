import Foundation
import SwitchboardCore
import Yams

/// The broker's settings by their snake_case names, read from a file, the environment and flags.
///
/// Each source yields a `[name: value]` layer; later layers override earlier ones
/// (file, then `SWITCHBOARD_*` variables, then flags), and one table applies any layer to a
/// ``BrokerConfiguration`` so every source is parsed and checked the same way.
public enum Settings {
    /// A setting's definition: its name, what it means, its default and how it is applied.
    public struct Definition: Sendable {
        /// The snake_case name (files); flags use it in kebab-case, variables in UPPER_SNAKE with `SWITCHBOARD_`.
        public let name: String
        /// The flag's help text.
        public let help: String
        /// Whether the setting is an on/off switch.
        public let isFlag: Bool
        /// Whether the setting may be given several times.
        public let isList: Bool
        let apply: @Sendable (inout BrokerConfiguration, [String]) throws(ConfigurationError) -> Void

        /// The command-line flag.
        public var flag: String { "--" + name.replacingOccurrences(of: "_", with: "-") }
        /// The environment variable.
        public var environmentVariable: String { "SWITCHBOARD_" + name.uppercased() }
    }

    /// A layer of settings: values by name, as text (lists keep every value).
    public typealias Layer = [String: [String]]

    /// Where a layer came from; every error about one of its values names it.
    public enum Source: Sendable, Equatable {
        /// A configuration file, by its path.
        case file(String)
        /// `SWITCHBOARD_*` environment variables.
        case environment
        /// Command-line flags.
        case flags

        /// How a user finds the setting `name` in this source.
        func locate(_ name: String) -> String {
            switch self {
            case .file(let path): "'\(name)' in configuration file \(path)"
            case .environment: "SWITCHBOARD_" + name.uppercased()
            case .flags: "--" + name.replacingOccurrences(of: "_", with: "-")
            }
        }
    }

    /// Applies layers in order onto `base`.
    public static func apply(_ layers: [Layer], to base: BrokerConfiguration = .init()) throws(ConfigurationError) -> BrokerConfiguration {
        try apply(layers.map { (nil, $0) }, to: base)
    }

    /// Applies layers in order onto `base`; an error names the flag, variable or file key it is about.
    public static func apply(_ layers: [(source: Source, layer: Layer)], to base: BrokerConfiguration = .init()) throws(ConfigurationError) -> BrokerConfiguration {
        try apply(layers.map { (Optional($0.source), $0.layer) }, to: base)
    }

    private static func apply(_ layers: [(Source?, Layer)], to base: BrokerConfiguration) throws(ConfigurationError) -> BrokerConfiguration {
        var configuration = base
        for (source, layer) in layers {
            for (name, values) in layer.sorted(by: { $0.key < $1.key }) {
                guard let definition = definitions.first(where: { $0.name == name }) else {
                    if case .file(let path) = source { throw ConfigurationError("unknown setting '\(name)' in configuration file \(path)") }
                    throw ConfigurationError("unknown setting '\(name)'")
                }
                do throws(ConfigurationError) {
                    try definition.apply(&configuration, values)
                } catch {
                    guard let source else { throw error }
                    throw ConfigurationError("\(source.locate(name)): \(error.description)")
                }
            }
        }
        return configuration
    }

    /// The layer given by `SWITCHBOARD_*` variables in `environment`.
    public static func environmentLayer(_ environment: [String: String]) -> Layer {
        var layer: Layer = [:]
        for definition in definitions {
            guard let value = environment[definition.environmentVariable] else { continue }
            layer[definition.name] = definition.isList ? value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : [value]
        }
        return layer
    }

    /// The layer given by a JSON (`.json`) or YAML (`.yaml`, `.yml`) file.
    public static func fileLayer(path: String) throws(ConfigurationError) -> Layer {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("configuration file \(path) not found")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            guard FileManager.default.isReadableFile(atPath: path) else { throw ConfigurationError("configuration file \(path) is not readable") }
            throw ConfigurationError("cannot read configuration file \(path): \(error.localizedDescription)")
        }
        let object: Any?
        do {
            if path.hasSuffix(".json") {
                object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                object = try Yams.load(yaml: text)
            } else {
                throw ConfigurationError("configuration file \(path) must end in .json, .yaml or .yml")
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("cannot parse configuration file \(path): \(error)")
        }
        guard let dictionary = object as? [String: Any] else {
            if object == nil { return [:] }
            throw ConfigurationError("configuration file \(path) must hold one object of settings")
        }
        var layer: Layer = [:]
        for (key, value) in dictionary {
            if let list = value as? [Any] {
                layer[key] = list.map { "\($0)" }
            } else if let flag = value as? Bool {
                layer[key] = [flag ? "true" : "false"]
            } else {
                layer[key] = ["\(value)"]
            }
        }
        return layer
    }
}
