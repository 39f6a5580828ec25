import CLibraryLoader
import Foundation
import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct LibraryLoaderTests {
  /// The probe `vlatune doctor` uses: the first name that loads wins; none loading gives the
  /// loader's message, naming the file.
  @Test func tryOpenReportsWhichNamesLoad() {
    func tryOpen(_ names: [String]) -> (Bool, String) {
      var pointers: [UnsafePointer<CChar>?] = names.map { UnsafePointer(strdup($0)) }
      pointers.append(nil)
      defer { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
      var error = [CChar](repeating: 0, count: 512)
      let loaded = pointers.withUnsafeBufferPointer { list in
        error.withUnsafeMutableBufferPointer { vt_library_try_open(list.baseAddress!, $0.baseAddress!, $0.count) }
      }
      return (loaded == 1, error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    let missing = tryOpen(["libvlatune-missing.so.9"])
    #expect(!missing.0)
    #expect(missing.1.contains("libvlatune-missing.so.9"), "\(missing.1)")
    #expect(tryOpen(["libvlatune-missing.so.9", "libz.so.1"]).0)
  }

  /// Every library loaded on first use is present where the tests run (CI installs them).
  @Test func everyLazyLibraryLoadsHere() {
    let availability = LibraryVersions.availability()
    #expect(availability.map(\.library) == ["libarchive", "libcrypto", "libsnappy", "libzstd", "zlib"])
    for (library, problem) in availability { #expect(problem == nil, "\(library): \(problem ?? "")") }
    #expect(LibraryVersions.libarchive.hasPrefix("libarchive 3."))
  }
}
