// The fuzz driver: libFuzzer's LLVMFuzzerRunDriver (linked by -sanitize=fuzzer) over one
// FuzzTarget, named by VLATUNE_FUZZ_TARGET (json, episode, parquet, tfrecord, policy, npy).
// Every libFuzzer flag (-max_total_time, -runs, corpus folders) passes through.
import Foundation
import VlatuneCore

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

let name = ProcessInfo.processInfo.environment["VLATUNE_FUZZ_TARGET"] ?? ""
guard let target = FuzzTarget(rawValue: name) else {
  let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
  FileHandle.standardError.write(Data("VLATUNE_FUZZ_TARGET must be one of \(names) (got '\(name)')\n".utf8))
  exit(64)
}
// A C callback captures nothing: the target goes through a global read-only after this line.
nonisolated(unsafe) var selected = target

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
  runDriver(&argc, &argv) { data, size in
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
  })
