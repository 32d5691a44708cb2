import Foundation
import Testing

/// The README's Swift example is the example target's code, so it compiles with every build.
@Suite struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func readmeShowsTheSwiftExampleAsItIs() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: Self.root.appendingPathComponent("examples/swift-subscriber/main.swift"), encoding: .utf8)
        let code = try #require(example.range(of: "import Foundation")).lowerBound
        let shown = "```swift\n" + example[code...].trimmingCharacters(in: .newlines) + "\n```"
        let inSync = readme.contains(shown)
        #expect(inSync, "README.md's Swift block differs from examples/swift-subscriber/main.swift")
    }
}
