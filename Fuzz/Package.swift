// swift-tools-version: 6.2
// The fuzz harness: libFuzzer over the parsers in VlatuneCore (FuzzTarget). Not part of the
// main build: `make fuzz` builds it with -sanitize=fuzzer,address into .build-fuzz and runs each
// target for a fixed time over Fuzz/corpus/<target> (docs/architecture.md, "Fuzzing").
import PackageDescription

let package = Package(
  name: "vlatune-fuzz",
  dependencies: [.package(name: "vlatune", path: "..")],
  targets: [
    .executableTarget(
      name: "vlatune-fuzz",
      dependencies: [.product(name: "VlatuneCore", package: "vlatune")],
      swiftSettings: [.treatAllWarnings(as: .error)]
    )
  ],
  swiftLanguageModes: [.v6]
)
