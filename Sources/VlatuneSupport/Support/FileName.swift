import Glibc

/// File and entry names as the file system or an archive stores them: bytes, usually UTF-8.
package enum FileName {
  /// `raw` as text, and whether it was UTF-8. Bytes that are not are written `\xNN`, so that
  /// two names differing only in such bytes never read as the same name.
  package static func text(_ raw: UnsafePointer<CChar>) -> (text: String, isUTF8: Bool) {
    if let text = String(validatingCString: raw) { return (text, true) }
    let bytes = UnsafeBufferPointer(
      start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
    var text = ""
    for byte in bytes {
      text += byte < 0x80 ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
    }
    return (text, false)
  }
}
