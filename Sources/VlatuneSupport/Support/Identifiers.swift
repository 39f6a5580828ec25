/// Short, printable, unambiguous ids such as `ds_3k9x2m7qpa` and `job_…`.
public enum Identifiers {
  /// Crockford-style base32 without the easily confused letters i, l, o, u.
  static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

  /// A new random id with the given prefix (`ds`, `job`) and 10 random characters (50 bits).
  public static func random(prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let body = (0..<10).map { _ in alphabet[Int(generator.next() % 32)] }
    return prefix + "_" + String(body)
  }
}
