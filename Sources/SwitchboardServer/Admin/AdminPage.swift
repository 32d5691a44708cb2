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
        guard let folder = PackageResources.folder("admin", holding: "admin.html"),
            let template = try? String(contentsOf: folder.appendingPathComponent("admin.html"), encoding: .utf8),
            let css = try? String(contentsOf: folder.appendingPathComponent("admin.css"), encoding: .utf8),
            let script = try? String(contentsOf: folder.appendingPathComponent("admin.js"), encoding: .utf8)
        else {
            return "<!doctype html><title>Switchboard · admin</title><p>The admin page's files (\(PackageResources.bundleName)) are not installed next to the switchboard binary.</p>"
        }
        return template.replacingOccurrences(of: "/* admin.css */", with: css).replacingOccurrences(of: "// admin.js", with: script)
    }()
}
