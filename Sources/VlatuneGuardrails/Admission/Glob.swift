import Glibc
import VlatuneSupport

/// Shell-style pattern matching (`*`, `?`, `[…]`) for policy allow-lists.
package enum Glob {
  package static func matches(_ pattern: String, _ text: String) -> Bool {
    fnmatch(pattern, text, 0) == 0
  }
}
