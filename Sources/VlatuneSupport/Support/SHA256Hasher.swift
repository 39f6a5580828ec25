internal import CCrypto

/// An incremental SHA-256 digest backed by OpenSSL's EVP interface (hardware-accelerated where
/// the CPU supports it).
///
/// - Important: One hasher per stream; it is not safe to share across threads.
public final class SHA256Hasher {
  private let context: OpaquePointer

  /// Starts a new digest.
  public init() {
    // EVP_MD_CTX_new only fails when the process is out of memory.
    guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
    self.context = context
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
  }

  deinit { EVP_MD_CTX_free(context) }

  /// Adds bytes to the digest.
  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    EVP_DigestUpdate(context, base, bytes.count)
  }

  /// Adds bytes to the digest.
  public func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// Adds the UTF-8 bytes of a string to the digest.
  public func update(_ text: String) {
    update(Array(text.utf8))
  }

  /// Finishes the digest and returns it as 64 lowercase hex characters.
  public func hexDigest() -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(context, &digest, &length)
    return digest.prefix(Int(length)).map { byte in
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }

  /// The 32-byte SHA-256 of a byte array (one call, no incremental state).
  public static func digest(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    bytes.withUnsafeBytes { buffer in
      _ = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
    }
    return digest
  }

  /// The hex SHA-256 of a byte array.
  public static func hex(_ bytes: [UInt8]) -> String {
    let hasher = SHA256Hasher()
    hasher.update(bytes)
    return hasher.hexDigest()
  }
}
