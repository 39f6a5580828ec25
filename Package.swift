// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "vlatune",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "vlatune", targets: ["vlatune"]),
    // The MCP server, exec'd by `vlatune mcp`: the MCP SDK links Foundation's networking
    // (libcurl and ~30 libraries), which every other command would load at start-up.
    .executable(name: "vlatune-mcp", targets: ["vlatune-mcp"]),
    .library(name: "VlatuneCore", targets: ["VlatuneCore"]),
    // FFmpeg, libjpeg-turbo and libhdf5 behind dlopen (Sources/CMedia): only `dataset prepare`
    // of videos, raw images or HDF5 loads them, not every command.
    .library(name: "VlatuneMedia", type: .dynamic, targets: ["CVideo", "CHDF5"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.30.0"),
  ],
  targets: [
    // libarchive, libcrypto, Snappy, Zstandard and zlib: their headers at build time, the
    // libraries loaded on first use (Sources/CLibraryLoader), not by every command at start-up.
    // Build dependencies: libarchive-dev libssl-dev libsnappy-dev libzstd-dev zlib1g-dev.
    .target(name: "CLibraryLoader", linkerSettings: [.linkedLibrary("dl")]),
    .target(name: "CArchive", dependencies: ["CLibraryLoader"]),
    .target(name: "CCrypto", dependencies: ["CLibraryLoader"]),
    .target(name: "CCompression", dependencies: ["CLibraryLoader"]),
    .systemLibrary(name: "CHDF5Lib", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
    .target(name: "CHDF5", dependencies: ["CHDF5Lib"]),
    .target(name: "CMedia", linkerSettings: [.linkedLibrary("dl")]),
    .target(name: "CSpawn"),
    .target(name: "CFileIO"),
    .target(
      name: "CVideo",
      linkerSettings: [
        .linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("avutil"),
        .linkedLibrary("swscale"), .linkedLibrary("turbojpeg"),
      ]),
    // The core, one module per layer; each imports only the layers below it, so the compiler
    // refuses a back-reference (docs/architecture.md draws the graph).
    .target(name: "VlatuneSupport", dependencies: ["CArchive", "CCompression", "CCrypto", "CMedia", "CSpawn"]),
    .target(name: "VlatuneArchive", dependencies: ["VlatuneSupport", "CArchive", "CFileIO"]),
    .target(
      name: "VlatuneStore",
      dependencies: [
        "VlatuneSupport", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
      ]),
    .target(
      name: "VlatuneFormats",
      dependencies: [
        "VlatuneSupport", "VlatuneArchive", "CCompression", "CMedia",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      exclude: ["RLDS/Generated/README.md"]),
    .target(
      name: "VlatuneGuardrails",
      dependencies: [
        "VlatuneSupport", "VlatuneStore", "VlatuneFormats", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Yams", package: "Yams"),
      ]),
    .target(
      name: "VlatuneDatasets",
      dependencies: [
        "VlatuneSupport", "VlatuneArchive", "VlatuneStore", "VlatuneFormats", "VlatuneGuardrails",
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
    .target(
      name: "VlatuneJobs",
      dependencies: [
        "VlatuneSupport", "VlatuneStore", "VlatuneFormats", "VlatuneGuardrails", "VlatuneDatasets", "CSpawn",
        .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Yams", package: "Yams"),
      ]),
    // The layers under one name for the front ends, and the fuzz targets over every parser.
    .target(
      name: "VlatuneCore",
      dependencies: [
        "VlatuneSupport", "VlatuneArchive", "VlatuneStore", "VlatuneFormats", "VlatuneGuardrails",
        "VlatuneDatasets", "VlatuneJobs",
      ]),
    .target(
      name: "VlatuneMCP",
      dependencies: [
        "VlatuneCore", .product(name: "MCP", package: "swift-sdk"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .executableTarget(
      name: "vlatune",
      dependencies: [
        "VlatuneCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // Release: a PIE (its addresses randomized, as every binary that agents drive should be)
      // that exports no symbols: -static-stdlib's -export-dynamic would put 15 000 symbols in
      // the dynamic table that the runtime's start-up dladdr scans (docs/performance.md).
      linkerSettings: [
        .unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(configuration: .release))
      ]
    ),
    .executableTarget(name: "vlatune-mcp", dependencies: ["VlatuneCore", "VlatuneMCP"]),
    .target(name: "VlatuneTestSupport", dependencies: ["VlatuneSupport"], path: "Tests/VlatuneTestSupport"),
    .testTarget(
      name: "VlatuneCoreTests",
      dependencies: ["VlatuneCore", "VlatuneTestSupport", "CFileIO", "CLibraryLoader"]
    ),
    .testTarget(
      name: "VlatuneMCPTests",
      dependencies: ["VlatuneMCP", "VlatuneCore", "VlatuneTestSupport", .product(name: "MCP", package: "swift-sdk")]
    ),
    .testTarget(
      name: "VlatuneCLITests",
      dependencies: ["vlatune", "vlatune-mcp", "VlatuneCore", "VlatuneTestSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
  var settings = target.swiftSettings ?? []
  settings.append(.enableUpcomingFeature("ExistentialAny"))
  settings.append(.enableUpcomingFeature("MemberImportVisibility"))
  settings.append(.treatAllWarnings(as: .error))
  target.swiftSettings = settings
}
