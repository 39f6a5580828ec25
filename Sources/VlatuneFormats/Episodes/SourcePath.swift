import VlatuneSupport

/// Safe handling of paths inside a dataset source: everything stays relative to the source root.
package enum SourcePath {
  /// Splits a relative path into components, or returns `nil` when it is absolute, empty, or
  /// contains `..`.
  static func components(_ path: String) -> [Substring]? {
    if path.hasPrefix("/") || path.hasPrefix("\\") { return nil }
    let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    if parts.isEmpty || parts.contains("..") { return nil }
    return parts
  }

  /// Joins an episode directory and a reference inside it; `nil` when the reference escapes.
  static func join(_ directory: String, _ reference: String) -> String? {
    guard let parts = components(reference) else { return nil }
    let joined = parts.joined(separator: "/")
    return directory.isEmpty ? joined : directory + "/" + joined
  }

  /// The directory part of a normalized relative path (`""` at the root).
  static func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[..<slash])
  }

  /// The last component of a path.
  package static func basename(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }
}
