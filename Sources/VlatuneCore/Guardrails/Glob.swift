import Glibc

/// Shell-style pattern matching (`*`, `?`, `[…]`) for policy allow-lists.
enum Glob {
  static func matches(_ pattern: String, _ text: String) -> Bool {
    fnmatch(pattern, text, 0) == 0
  }
}
