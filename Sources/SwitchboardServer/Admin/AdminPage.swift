import Foundation

/// The operators' page at `GET /admin`: one self-contained HTML page (inline CSS and JS,
/// nothing fetched from elsewhere) that reads the admin API once, then follows the stats topic
/// over the broker's own WebSocket.
///
/// Its HTML, CSS and JS are package resources (`Resources/admin/`), editable as files; they are
/// put together once, when the page is first asked for.
enum AdminPage {
    /// The whole page.
    static let html: String = {
        guard let folder = resourceFolder,
            let template = try? String(contentsOf: folder.appendingPathComponent("admin.html"), encoding: .utf8),
            let css = try? String(contentsOf: folder.appendingPathComponent("admin.css"), encoding: .utf8),
            let script = try? String(contentsOf: folder.appendingPathComponent("admin.js"), encoding: .utf8)
        else {
            return "<!doctype html><title>Switchboard · admin</title><p>The admin page's files (switchboard_SwitchboardServer.resources) are not installed next to the switchboard binary.</p>"
        }
        return template.replacingOccurrences(of: "/* admin.css */", with: css).replacingOccurrences(of: "// admin.js", with: script)
    }()

    /// The `admin` folder of the module's resource bundle, looked for beside the executable (where
    /// SwiftPM puts it, and where deploy/ installs it) without `Bundle.module`, which stops the
    /// process when the bundle is missing.
    private static var resourceFolder: URL? {
        let bundleName = "switchboard_SwitchboardServer.resources"
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [Bundle.main.bundleURL, executable, Bundle.main.resourceURL].compactMap { $0 }
        for base in candidates {
            let folder = base.appendingPathComponent(bundleName).appendingPathComponent("admin")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("admin.html").path) { return folder }
        }
        return nil
    }
}
