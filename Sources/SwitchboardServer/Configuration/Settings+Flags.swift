extension Settings {
    /// Settings of the command itself, read from flags and variables like the others but not
    /// part of ``BrokerConfiguration``: `--config FILE` and `--log-level LEVEL`.
    public static let commandSettings: [(name: String, help: String)] = [
        ("config", "Configuration file, .json or .yaml, with the settings below in snake_case."),
        ("log_level", "Log level: trace, debug, info, notice, warning, error or critical (default info)."),
    ]

    /// The layer given by command-line arguments, read against ``definitions``: `--name value`,
    /// `--name=value`, a switch alone (`--allow-anonymous`), a list setting repeated
    /// (`--publish-token a --publish-token b`). The command's own settings come back in the
    /// layer under their names too. An argument that names no setting is an error naming it.
    public static func flagLayer(_ arguments: [String]) throws(ConfigurationError) -> Layer {
        var layer: Layer = [:]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError("unexpected argument '\(argument.prefix(60))'; settings are given as --name value (see --help)")
            }
            var flag = String(argument.dropFirst(2))
            var inline: String?
            if let equals = flag.firstIndex(of: "=") {
                inline = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
            }
            let name = flag.replacingOccurrences(of: "-", with: "_")
            let definition = definitions.first { $0.name == name }
            guard definition != nil || commandSettings.contains(where: { $0.name == name }) else {
                throw ConfigurationError("unknown option '--\(flag.prefix(60))' (see --help)")
            }
            let value: String
            if let inline {
                value = inline
            } else if definition?.isFlag == true {
                value = "true"
            } else {
                guard index < arguments.endIndex else { throw ConfigurationError("--\(flag) needs a value") }
                value = arguments[index]
                index += 1
            }
            if definition?.isList == true {
                layer[name, default: []].append(value)
            } else {
                layer[name] = [value]
            }
        }
        return layer
    }

    /// What `--help` lists: every setting from ``definitions``, with its flag and variable.
    public static var helpText: String {
        var lines = [
            "Every setting is a flag, an environment variable (SWITCHBOARD_ + its name in UPPER_SNAKE) and a configuration-file key (snake_case); the file is overridden by variables, and variables by flags.",
            "",
            "SETTINGS:",
        ]
        let rows = commandSettings.map { ("--" + $0.name.replacingOccurrences(of: "_", with: "-"), $0.help, "SWITCHBOARD_" + $0.name.uppercased(), false) }
            + definitions.map { ($0.flag, $0.help, $0.environmentVariable, $0.isFlag) }
        for (flag, help, variable, isFlag) in rows {
            lines.append("  \(flag)\(isFlag ? "" : " <value>")")
            lines.append("        \(help) (\(variable))")
        }
        return lines.joined(separator: "\n")
    }
}
