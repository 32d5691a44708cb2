// swift-tools-version:6.0
// Fuzz targets, built apart from the project so that `swift build` of the project never needs
// libFuzzer. Build and run them with `Fuzz/run.sh <target> <seconds>`.
import PackageDescription

let package = Package(
    name: "switchboard-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "RedisDecoderFuzz",
            dependencies: [
                .product(name: "SwitchboardRedis", package: "switchboard"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "RedisDecoder"
        )
    ]
)
