@testable import SwitchboardServer
import Testing

/// Flags come from the one list of settings: every setting is a flag, read the same way.
@Suite struct SettingsFlagsTests {
    @Test func everySettingIsAFlagAVariableAndALineOfHelp() throws {
        for definition in Settings.definitions {
            let value = definition.isFlag ? [definition.flag] : [definition.flag, "1"]
            let layer = try Settings.flagLayer(value)
            #expect(layer[definition.name] != nil, "\(definition.flag)")
            #expect(Settings.helpText.contains(definition.flag) && Settings.helpText.contains(definition.environmentVariable))
        }
    }

    @Test func flagsTakeEveryShapeAndRefuseUnknownOnes() throws {
        let layer = try Settings.flagLayer([
            "--port=0", "--header-timeout", "3", "--allow-anonymous", "--publish-token", "a", "--publish-token", "b", "--config", "x.yaml",
        ])
        #expect(layer["port"] == ["0"] && layer["header_timeout"] == ["3"] && layer["allow_anonymous"] == ["true"])
        #expect(layer["publish_token"] == ["a", "b"] && layer["config"] == ["x.yaml"])
        let configuration = try Settings.apply([(.flags, layer.filter { $0.key != "config" })])
        #expect(configuration.headerTimeoutSeconds == 3 && configuration.credentials.publishTokens == ["a", "b"])
        #expect(throws: ConfigurationError("unknown option '--prot' (see --help)")) { try Settings.flagLayer(["--prot", "1"]) }
        #expect(throws: ConfigurationError("--port needs a value")) { try Settings.flagLayer(["--port"]) }
        #expect(throws: ConfigurationError.self) { try Settings.flagLayer(["8080"]) }
    }
}
