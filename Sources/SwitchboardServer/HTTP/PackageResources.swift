import Foundation

/// The module's resource folders (`Resources/…` in Package.swift), found beside the
/// executable (where SwiftPM puts them, and where deploy/ installs them) without
/// `Bundle.module`, which stops the process when the bundle is missing.
enum PackageResources {
    /// The bundle SwiftPM builds for this module.
    static let bundleName = "switchboard_SwitchboardServer.resources"

    /// The resource folder `name`, if it is installed and holds `file`.
    static func folder(_ name: String, holding file: String) -> URL? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [Bundle.main.bundleURL, executable, Bundle.main.resourceURL].compactMap { $0 }
        for base in candidates {
            let folder = base.appendingPathComponent(bundleName).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) { return folder }
        }
        return nil
    }
}
