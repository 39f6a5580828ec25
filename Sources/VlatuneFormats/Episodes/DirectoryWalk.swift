import Glibc
import VlatuneSupport

/// The regular files of a directory tree, listed with `readdir` and one `fstatat` per file.
///
/// FileManager's enumerator normalized every path through NSString and `stat` was called twice
/// more per file (kind, size): ~12% of the reading thread of `dataset prepare` on 1 GB of
/// 31 KB images. The walk does what that code did: hidden entries (names starting with `.`) are
/// skipped, hidden directories not entered; symbolic links are not followed into directories,
/// while a link to a regular file inside the tree counts as that file (size and all).
///
/// A link to a file or a directory outside the tree is refused (77): its content would enter
/// the package from a place the policy's `dataset_roots` never allowed (``LinkRule``: with
/// `--follow-links`, a link into a root is followed). A name that is not UTF-8 is refused (65):
/// it would be read as a different name and the file reported missing.
package enum DirectoryWalk {
  /// Calls `body` with each regular file's path relative to `root` and its size.
  ///
  /// - Throws: ``VlatuneError/ioFailure(path:message:)`` naming a directory that cannot be
  ///   listed, what `body` throws, or the cancellation.
  static func regularFiles(
    under root: String, links: LinkRule = .refuse, cancellation: CancellationToken,
    _ body: (_ relative: String, _ size: Int64) throws -> Void
  ) throws {
    var pending = [""]
    let resolvedRoot = realPath(root) ?? root
    while let relative = pending.popLast() {
      let path = relative.isEmpty ? root : root + "/" + relative
      guard let directory = opendir(path) else {
        throw VlatuneError.ioFailure(
          path: path, message: "cannot list the directory: \(String(cString: strerror(errno)))")
      }
      defer { closedir(directory) }
      let descriptor = dirfd(directory)
      while let entry = readdir(directory) {
        try cancellation.check()
        let (name, isUTF8, type) = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
          pointer.withMemoryRebound(to: CChar.self, capacity: 256) {
            let (text, isUTF8) = FileName.text($0)
            return (text, isUTF8, Int32(entry.pointee.d_type))
          }
        }
        if name.hasPrefix(".") { continue }
        let child = relative.isEmpty ? name : relative + "/" + name
        guard isUTF8 else {
          let message = "the name is not UTF-8; rename it (vlatune reads names as UTF-8)"
          throw VlatuneError.invalidDataset(
            message: "\(root)/\(child): \(message)",
            findings: [Diagnostic(.error, code: "non_utf8_name", message: message, field: child)])
        }
        if type == DT_DIR {
          pending.append(child)
          continue
        }
        guard type == DT_REG || type == DT_LNK || type == DT_UNKNOWN else { continue }
        var info = stat()
        guard fstatat(descriptor, name, &info, 0) == 0 else { continue }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
          if type != DT_REG { try checkLink(path + "/" + name, child: child, root: resolvedRoot, links: links) }
          try body(child, Int64(info.st_size))
        case S_IFDIR where type == DT_LNK:
          // Not entered, but a reader that opens paths under it would read through it.
          try checkLink(path + "/" + name, child: child, root: resolvedRoot, links: links)
        case S_IFDIR where type == DT_UNKNOWN:
          // A file system that reports no types: enter real directories, not links to them.
          var own = stat()
          if fstatat(descriptor, name, &own, AT_SYMLINK_NOFOLLOW) == 0,
            own.st_mode & S_IFMT == S_IFDIR
          {
            pending.append(child)
          } else {
            try checkLink(path + "/" + name, child: child, root: resolvedRoot, links: links)
          }
        default:
          continue
        }
      }
    }
  }

  /// Refuses the first link under `root` (to a file or a directory) whose target lies outside
  /// it, for the sources that open their files by path (LeRobot, RLDS, npz): walked once before
  /// they read anything.
  ///
  /// - Throws: ``VlatuneError/policyDenied(message:)`` naming the link and its target.
  package static func refuseEscapingLinks(under root: String, links: LinkRule, cancellation: CancellationToken) throws {
    try regularFiles(under: root, links: links, cancellation: cancellation) { _, _ in }
  }

  /// Refuses a link (or an entry of unknown type that is one) whose file lies outside the tree.
  static func checkLink(_ path: String, child: String, root: String, links: LinkRule) throws {
    var own = stat()
    guard lstat(path, &own) == 0, own.st_mode & S_IFMT == S_IFLNK else { return }
    guard let target = realPath(path) else { return }
    if target == root || target.hasPrefix(root.hasSuffix("/") ? root : root + "/") { return }
    try links.check(child: child, target: target, root: root)
  }

  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}
