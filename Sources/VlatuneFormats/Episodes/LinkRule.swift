import Foundation
import VlatuneSupport

/// What a directory source does with a symbolic link whose target lies outside the source
/// directory: refused (77) by default, since its content would enter the package from a place
/// nobody chose; with `--follow-links` (`follow_links`), followed when the target lies inside
/// one of the policy's `dataset_roots`, and still refused elsewhere.
package struct LinkRule: Sendable {
  /// The `dataset_roots` a link may lead into, or `nil` when no link may leave the source.
  var roots: [String]?

  /// No link may leave the source.
  package static let refuse = LinkRule(roots: nil)

  package init(roots: [String]?) { self.roots = roots }

  /// Refuses (77) a link at `child` whose resolved `target` is outside the source `root`.
  package func check(child: String, target: String, root: String) throws {
    guard let roots else {
      throw VlatuneError.policyDenied(
        message: "\(child) is a symbolic link to \(target), outside the source directory \(root); "
          + "links that leave the source are not followed: copy the file into the dataset, or pass "
          + "--follow-links (follow_links) to follow links into the policy's dataset_roots")
    }
    guard !Self.isInside(target, roots: roots) else { return }
    throw VlatuneError.policyDenied(
      message: "\(child) is a symbolic link to \(target), outside the source directory \(root) and outside "
        + "the policy's dataset_roots (\(roots.joined(separator: ", "))); --follow-links follows links into "
        + "those roots only: copy the file into the dataset or move it under a root")
  }

  /// Whether `path` is one of `roots` or inside one (`~` is the home directory).
  package static func isInside(_ path: String, roots: [String]) -> Bool {
    roots.contains { root in
      var expanded = root
      if root == "~" || root.hasPrefix("~/") {
        expanded = NSHomeDirectory() + root.dropFirst()
      }
      expanded = URL(fileURLWithPath: expanded).resolvingSymlinksInPath().path
      return expanded == "/" || path == expanded || path.hasPrefix(expanded + "/")
    }
  }
}
