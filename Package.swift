// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "connwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "connwatchd", targets: ["connwatchd"]),
        .executable(name: "connwatchctl", targets: ["connwatchctl"]),
        .executable(name: "connwatch-sim", targets: ["connwatch-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Alert mail bodies (text + HTML) from the templates in Sources/ConnwatchMail/Templates.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", "2.1.0"..."2.1.1"),
    ],
    targets: [
        // Pure domain: catalog, checks, reasons, alert state machine, config model. Foundation only.
        .target(name: "ConnwatchCore"),
        // TOML loading, strict validation, secret resolution.
        .target(
            name: "ConnwatchConfig",
            dependencies: ["ConnwatchCore"]
        ),
        // libsystemd (journal, sd_notify) plus a `struct ucred` shim.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Microsoft adapter: token client, Graph/ARM/O365 readers, error mapping.
        .target(
            name: "ConnwatchEntra",
            dependencies: [
                "ConnwatchCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SQLite adapter: history, alert state, delivery outbox, retention.
        .target(
            name: "ConnwatchStore",
            dependencies: ["ConnwatchCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Sinks: journal (libsystemd) and webhooks.
        .target(
            name: "ConnwatchAlerting",
            dependencies: [
                "ConnwatchCore", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The simulated Microsoft cloud (demo + tests), real HTTP(S). Shares no wire code
        // with ConnwatchEntra on purpose: each follows the documented formats on its own.
        .target(
            name: "ConnwatchSimulator",
            dependencies: [
                "ConnwatchCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // E-mail: an SMTP submission client (RFC 5321/3207/4954) on SwiftNIO + NIOSSL, MIME
        // messages and the alert mail templates. TLSNameCheck comes from ConnwatchEntra.
        .target(
            name: "ConnwatchMail",
            dependencies: [
                "ConnwatchCore", "ConnwatchEntra",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            exclude: ["Templates"]
        ),
        // The report (SPEC §5): a model of every tenant's connectors, credentials and history,
        // rendered as one self-contained HTML page and as text. Pure: Core and Foundation only.
        .target(name: "ConnwatchReport", dependencies: ["ConnwatchCore"]),
        .target(
            name: "ConnwatchDaemon",
            dependencies: [
                "ConnwatchCore", "ConnwatchConfig", "ConnwatchEntra", "ConnwatchStore", "ConnwatchAlerting", "CSystemd",
                "ConnwatchMail", "ConnwatchReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ConnwatchCLI",
            dependencies: [
                "ConnwatchCore", "ConnwatchConfig", "ConnwatchEntra", "ConnwatchMail",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "connwatchd", dependencies: ["ConnwatchDaemon", "CSystemd"],
            linkerSettings: leanExecutable + codeLayout(order: "link/connwatchd.order", unnamed: "link/connwatchd.ld")),
        // CSystemd: its prctl(PR_SET_DUMPABLE) wrapper (connwatchctl reads private keys too).
        .executableTarget(name: "connwatchctl", dependencies: ["ConnwatchCLI", "CSystemd"], linkerSettings: leanExecutable),
        // Benchmark only (benchmarks/run.sh): history growth over simulated days through the
        // daemon's real CycleCoordinator and HistoryStore. Not a product: not packaged.
        .executableTarget(
            name: "connwatch-history-bench",
            dependencies: [
                "ConnwatchDaemon", "ConnwatchCore", "ConnwatchStore", "ConnwatchAlerting",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "connwatch-sim",
            dependencies: [
                "ConnwatchSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Test support shared by the test targets, never by a product: the test PKI, the
        // control-socket client and server, the in-process simulator, temporary directories.
        .target(
            name: "ConnwatchTestSupport",
            dependencies: [
                "ConnwatchCore", "ConnwatchSimulator",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/ConnwatchTestSupport"
        ),

        .testTarget(
            name: "ConnwatchCoreTests", dependencies: ["ConnwatchCore", "ConnwatchTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ConnwatchConfigTests", dependencies: ["ConnwatchConfig", "ConnwatchTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "ConnwatchEntraTests", dependencies: ["ConnwatchEntra", "ConnwatchSimulator", "ConnwatchTestSupport"]),
        .testTarget(
            name: "ConnwatchSimulatorTests",
            dependencies: [
                "ConnwatchSimulator", "ConnwatchTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .testTarget(name: "ConnwatchStoreTests", dependencies: ["ConnwatchStore", "ConnwatchTestSupport"]),
        .testTarget(name: "ConnwatchAlertingTests", dependencies: ["ConnwatchAlerting", "ConnwatchMail", "ConnwatchTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "ConnwatchMailTests", dependencies: ["ConnwatchMail", "ConnwatchTestSupport"]),
        .testTarget(
            name: "ConnwatchDaemonTests",
            dependencies: ["ConnwatchDaemon", "ConnwatchMail", "ConnwatchSimulator", "ConnwatchTestSupport"]),
        .testTarget(
            name: "ConnwatchCLITests",
            dependencies: ["ConnwatchCLI", "ConnwatchTestSupport"]),
        .testTarget(
            name: "ConnwatchReportTests", dependencies: ["ConnwatchReport", "ConnwatchTestSupport"],
            exclude: ["Golden"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ConnwatchCore", "ConnwatchTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

/// How the two installed programs are linked on Linux (BENCHMARKS.md, "What was changed"):
/// with lld (shipped in the Swift toolchain), relative relocations packed (DT_RELR, glibc
/// 2.36+: 145,000 of them took 3.5 MB that the loader read at every start) and no dynamic
/// symbol table of all 52,000 Swift symbols (nothing looks them up). Peak RSS of
/// `connwatchd --once` at 10,000 connectors −3 MiB, of `connwatchd --version` 22 → 17 MiB.
/// Release builds only: debug builds and tests link plainly, with the system's default
/// linker, on any glibc.
var leanExecutable: [LinkerSetting] {
    [
        .unsafeFlags(
            ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
            .when(platforms: [.linux], configuration: .release))
    ]
}

/// The functions connwatchd runs, laid out together (lld --symbol-ordering-file): the kernel
/// maps code in 64 KiB blocks, and scattered over the 34 MB text the code a cycle runs made
/// ~22 MiB of it resident; together ~14 MiB, ~8 MiB with one section per function
/// (`scripts/release-build.sh`) and the unnamed functions grouped by `link/connwatchd.ld`.
/// `python3 benchmarks/symbol_order.py` regenerates the list (callgrind over a benchmark
/// fleet); functions not in it are only placed elsewhere, and names in it that no longer
/// exist are ignored (`--no-warn-symbol-ordering`): a stale list never fails a build, and a
/// missing one (or linker script) only drops its flag. Release builds only.
func codeLayout(order: String, unnamed script: String) -> [LinkerSetting] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    let orderFile = root.appendingPathComponent(order).path
    let scriptFile = root.appendingPathComponent(script).path
    var flags: [String] = []
    if FileManager.default.fileExists(atPath: orderFile) {
        flags += ["-Xlinker", "--symbol-ordering-file=\(orderFile)", "-Xlinker", "--no-warn-symbol-ordering"]
    }
    if FileManager.default.fileExists(atPath: scriptFile) { flags += ["-Xlinker", "-T", "-Xlinker", scriptFile] }
    return flags.isEmpty ? [] : [.unsafeFlags(flags, .when(platforms: [.linux], configuration: .release))]
}
