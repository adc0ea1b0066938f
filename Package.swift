// swift-tools-version: 6.0
import PackageDescription

// Release links of the dynamically linked tools. The static Swift stdlib's link arguments export
// every symbol of ours (-export-dynamic): nothing looks them up, yet the dynamic linker then
// resolves our own calls through the symbol table at every start (about 1 ms per berth-runtime
// run) and pages in megabytes of symbol tables.
let noExportDynamic: LinkerSetting = .unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(configuration: .release))
let stripped: LinkerSetting = .unsafeFlags(["-Xlinker", "--strip-all"], .when(configuration: .release))

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "berth-runtime", targets: ["berth-runtime"]),
        .executable(name: "berth-shim", targets: ["berth-shim"]),
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth-init", targets: ["berth-init"]),
        .executable(name: "berth-dns", targets: ["berth-dns"]),
        .executable(name: "berth", targets: ["berth"]),
        .library(name: "BerthOCI", targets: ["BerthOCI"]),
        .library(name: "BerthDigest", targets: ["BerthDigest"]),
        .library(name: "BerthRuntime", targets: ["BerthRuntime"]),
        .library(name: "BerthArchive", targets: ["BerthArchive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Models shared by every layer: OCI runtime/image specs, Docker schema2, digests, references.
        // No swift-crypto here: the runtime links these models and must stay free of Foundation/ICU.
        .target(name: "BerthOCI"),
        // sha256 of content (verification, streaming hashes) for the modules that handle blobs.
        .target(
            name: "BerthDigest",
            dependencies: ["BerthOCI", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Syscalls Glibc does not export to Swift (clone flags, pivot_root, capset, prctl, SCM_RIGHTS…).
        .target(
            name: "CBerthSystem",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "BerthSystem",
            dependencies: ["CBerthSystem", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        // Intel's ISA-L inflate: gzip layers decompress about 3x faster than through zlib.
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // Layer tars: apply (whiteouts, no escapes) and diff, over libarchive.
        .target(
            name: "BerthArchive",
            dependencies: ["CArchive", "CIsal", "CBerthSystem", "BerthSystem"]
        ),
        // What the Engine API's server and clients share: JSON values, progress messages, detach
        // keys, sizes, times, the API version. No server code: the CLI links this, not the daemon.
        .target(name: "BerthAPITypes", dependencies: ["BerthOCI"]),
        // The Engine API client (UNIX, TCP, TLS, hijacked streams).
        .target(
            name: "BerthClient",
            dependencies: ["BerthAPITypes", "BerthSystem",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOTLS", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        // Content store, image records, snapshots.
        .target(
            name: "BerthImages",
            dependencies: ["BerthOCI", "BerthDigest", "BerthArchive", "BerthSystem", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Distribution API client: pull and push against registries.
        .target(
            name: "BerthRegistry",
            dependencies: ["BerthOCI", "BerthDigest", "BerthImages", "BerthSystem", "BerthAPITypes",
                           .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // The daemon's core: container records and state machine, shims, events, logs, exec.
        .target(
            name: "BerthEngine",
            dependencies: ["BerthOCI", "BerthSystem", "CBerthSystem", "BerthArchive", "BerthImages", "BerthRegistry", "BerthRuntime", "BerthAPITypes", "BerthNetwork",
                           "BerthVolumes", .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Volumes: their records in berth.db and their data directories.
        .target(
            name: "BerthVolumes",
            dependencies: ["BerthAPITypes", "BerthSystem", "CBerthSystem", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Networks: netlink, addresses, bridges and veths, Berth's nftables tables.
        .target(
            name: "BerthNetwork",
            dependencies: ["BerthSystem", "CBerthSystem"]
        ),
        // The HTTP server on SwiftNIO, routes over BerthEngine, hijacked streams.
        .target(
            name: "BerthAPI",
            dependencies: ["BerthEngine", "BerthImages", "BerthRegistry", "BerthOCI", "BerthAPITypes",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOTLS", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        // The berth CLI: docker's commands over the API client; tables, Go templates, progress.
        .target(
            name: "BerthCLI",
            dependencies: ["BerthClient", "BerthAPITypes", "BerthOCI", "BerthDigest", "BerthArchive", "BerthSystem",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "berth",
            dependencies: ["BerthCLI"],
            linkerSettings: [stripped, noExportDynamic]
        ),
        .executableTarget(
            name: "berthd",
            dependencies: ["BerthAPI", "BerthEngine", "BerthImages", "BerthRegistry", "BerthSystem",
                           .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: [noExportDynamic]
        ),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .target(
            name: "BerthRuntime",
            dependencies: ["BerthOCI", "BerthSystem", "CSeccomp"]
        ),
        .executableTarget(
            name: "berth-runtime",
            dependencies: ["BerthRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // create/run/exec copy the binary into a sealed memfd (CVE-2019-5736): a stripped
            // release binary halves that copy. Fully static in release: a shim runs it three times
            // per container, and dynamic loading (libstdc++ for the Swift runtime, libseccomp) cost
            // about 1 ms of each run. (Debug builds stay dynamic: SwiftPM links the static
            // Foundation libraries only with --static-swift-stdlib.)
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release)), stripped]
        ),
        // The C library's headers for Embedded Swift, which has no Glibc overlay.
        .systemLibrary(name: "CShimLibc"),
        // One per container: owns stdio, writes the log, reaps, outlives berthd. Embedded Swift
        // (no runtime metadata, no Foundation) linked statically: well under 1 MiB resident.
        // Build it without --static-swift-stdlib: an Embedded module has its own standard library.
        // zlib: the shim gzips rotated json-file logs (`compress`).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .executableTarget(
            name: "berth-shim",
            dependencies: ["CBerthSystem", "CShimLibc", "CZlib"],
            swiftSettings: [.enableExperimentalFeature("Embedded"), .unsafeFlags(["-wmo"])],
            linkerSettings: [.unsafeFlags(["-static-executable"]),
                             stripped]
        ),
        // The embedded DNS of user-defined networks, outliving berthd so that names resolve
        // while it is down; started by berthd, one per daemon.
        .executableTarget(
            name: "berth-dns",
            dependencies: ["BerthNetwork", "BerthSystem", "CBerthSystem"],
            linkerSettings: [noExportDynamic]
        ),
        // PID 1 for `run --init`: forwards signals, reaps orphans. Fully static (no libc needed
        // in the image it is mounted into).
        .executableTarget(
            name: "berth-init",
            dependencies: ["CBerthSystem"],
            linkerSettings: [.unsafeFlags(["-static-executable"]),
                             stripped]
        ),
        .executableTarget(
            name: "berth-json-bench",
            dependencies: ["BerthAPITypes"]
        ),
        .executableTarget(
            name: "berth-image-bench",
            dependencies: ["BerthImages", "BerthRegistry", "BerthOCI",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Paths, fixtures and process helpers shared by the test targets.
        .target(name: "BerthTestSupport", path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI", "BerthDigest"]),
        .testTarget(name: "BerthArchiveTests", dependencies: ["BerthTestSupport", "BerthArchive", "BerthSystem"]),
        .testTarget(name: "BerthRegistryTests", dependencies: ["BerthTestSupport", "BerthRegistry", "BerthImages", "BerthOCI", "BerthDigest"]),
        .testTarget(name: "BerthImagesTests", dependencies: ["BerthTestSupport", "BerthImages", "BerthDigest", "BerthArchive", "BerthSystem"]),
        .testTarget(name: "IntegrationTests", dependencies: ["BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthCLI", "BerthAPITypes"]),
        .testTarget(name: "BerthAPITypesTests", dependencies: ["BerthAPITypes"], exclude: ["Fixtures"]),
        .testTarget(name: "BerthClientTests", dependencies: ["BerthClient", "BerthAPITypes", "BerthTestSupport"]),
        .testTarget(name: "BerthEngineTests", dependencies: ["BerthEngine", "BerthArchive", "BerthSystem"], exclude: ["Fixtures"]),
        .testTarget(name: "BerthAPITests", dependencies: ["BerthAPI", "BerthEngine", "BerthImages", "BerthOCI", "BerthRegistry",
                                                        .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(name: "BerthSystemTests", dependencies: ["BerthSystem"]),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthSystem"]),
        .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthTestSupport", "BerthRuntime", "BerthSystem"]),
    ]
)
