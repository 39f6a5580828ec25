internal import CArchive
internal import CCompression
internal import CCrypto

/// Versions and availability of the C libraries vlatune loads on first use.
public enum LibraryVersions {
  /// libarchive's version string (loads libarchive; exits 69 when it is missing).
  public static var libarchive: String { String(cString: archive_version_details()) }

  /// Each library loaded on first use, with `nil` when it loads or the loader's message.
  public static func availability() -> [(library: String, problem: String?)] {
    func probe(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String? {
      var error = [CChar](repeating: 0, count: 512)
      let loaded = error.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
      return loaded == 1 ? nil : error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
    return [
      ("libarchive", probe { vt_archive_probe($0, $1) }),
      ("libcrypto", probe { vt_crypto_probe($0, $1) }),
      ("libsnappy", probe { vt_compression_probe(0, $0, $1) }),
      ("libzstd", probe { vt_compression_probe(1, $0, $1) }),
      ("zlib", probe { vt_compression_probe(2, $0, $1) }),
    ]
  }
}
