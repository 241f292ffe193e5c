// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "connwatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "connwatchd", targets: ["connwatchd"]),
        .executable(name: "connwatchctl", targets: ["connwatchctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Pure domain: catalog, checks, reasons, config model. Foundation only.
        .target(name: "ConnwatchCore"),
        // TOML loading, strict validation, secret resolution.
        .target(
            name: "ConnwatchConfig",
            dependencies: ["ConnwatchCore", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // libsystemd (journal, sd_notify) plus a `struct ucred` shim.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "ConnwatchDaemon",
            dependencies: [
                "ConnwatchCore", "ConnwatchConfig", "CSystemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ConnwatchCLI",
            dependencies: [
                "ConnwatchCore", "ConnwatchConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "connwatchd", dependencies: ["ConnwatchDaemon"]),
        .executableTarget(name: "connwatchctl", dependencies: ["ConnwatchCLI"]),

        .testTarget(name: "ConnwatchCoreTests", dependencies: ["ConnwatchCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ConnwatchConfigTests", dependencies: ["ConnwatchConfig"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ConnwatchCLITests", dependencies: ["ConnwatchCLI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ConnwatchCore"]),
    ],
    swiftLanguageModes: [.v6]
)
