import Foundation
import GRDB
import VlatuneFormats
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// `dataset prepare`: reads a source in two passes, validates it, computes exact statistics,
/// writes the package into a temporary directory and registers it atomically.
///
/// Nothing is registered unless the package is complete; any failure or interruption removes
/// the temporary directory.
public struct DatasetPreparer: Sendable {
  let home: VlatuneHome
  let store: Store
  let now: @Sendable () -> Date
  let makeID: @Sendable (String) -> String
  let policy: Policy
  let users: any DatasetUsers
  /// The tool name in policies and the audit log.
  public static let tool = "prepare_dataset"

  /// - Parameters:
  ///   - home: The state directory.
  ///   - store: The catalog database.
  ///   - now: The clock (injected for tests).
  ///   - makeID: Makes a new id for a prefix (injected for tests).
  ///   - policy: The policy in force (rules for `prepare_dataset`, `dataset_roots`).
  ///   - users: Who may be reading a package (the jobs), asked before `--overwrite` replaces one.
  public init(
    home: VlatuneHome, store: Store, users: any DatasetUsers, policy: Policy = .builtin,
    now: @escaping @Sendable () -> Date = Date.init,
    makeID: @escaping @Sendable (String) -> String = Identifiers.random(prefix:)
  ) {
    self.home = home
    self.store = store
    self.users = users
    self.policy = policy
    self.now = now
    self.makeID = makeID
  }

  /// Prepares and registers a dataset.
  ///
  /// - Parameters:
  ///   - request: The validated request.
  ///   - cancellation: Checked between files; cancellation throws
  ///     ``VlatuneError/interrupted(signal:)`` after cleaning up.
  ///   - progress: Called a few times per second at most by the caller's choosing.
  /// - Returns: The registered dataset's document (warnings included).
  /// - Throws: ``VlatuneError`` with exit-status semantics (64 bad argument, 65 invalid data,
  ///   66 missing source, 73 name exists, 74 I/O failure).
  public func prepare(
    _ request: PrepareRequest, cancellation: CancellationToken = CancellationToken(),
    progress: (@Sendable (PrepareProgress) -> Void)? = nil
  ) throws -> DatasetDocument {
    try request.validate()
    let sourcePath = URL(fileURLWithPath: request.source).standardizedFileURL.path
    // Admitted (policy, rate limits, dataset_roots) before anything looks at the source: a
    // refused caller learns nothing about which paths exist.
    try admit(request, sourcePath: sourcePath)
    let links = LinkRule(request: request, policy: policy)
    var source = try Self.openSource(
      sourcePath, request: request, scratch: home.temporaryURL.path, links: links)
    if !(source is DirectorySource), FileIO.kind(sourcePath) == .directory {
      // DirectorySource checks while it lists; the others open files by path.
      try DirectoryWalk.refuseEscapingLinks(under: sourcePath, links: links, cancellation: cancellation)
    }
    let name = request.name ?? PrepareRequest.defaultName(for: sourcePath)
    try home.prepare()
    TemporaryDirectories.sweep(home.temporaryURL.path)
    DatasetCatalog(home: home, store: store, users: users).sweepUnregistered()
    if !request.overwrite { try ensureNameIsFree(name) }

    progress?(PrepareProgress(phase: "scan", episodesDone: 0, episodesTotal: 0, bytesDone: 0, bytesTotal: 0))
    let inventory: SourceInventory
    do {
      inventory = try source.inventory(cancellation: cancellation)
    } catch let found as LeRobotDatasetFound {
      // An archive's entries are only known once it has been streamed: `--format auto` takes
      // the LeRobotDataset it turned out to hold.
      guard request.format == .auto, source is ArchiveSource else { throw found.error }
      source = LeRobotSource(archive: sourcePath, scratchParent: home.temporaryURL.path, request: request)
      inventory = try source.inventory(cancellation: cancellation)
    }
    var analysis = try DatasetAnalysis.analyze(inventory, request: request, name: name)
    if let lerobot = source as? LeRobotSource {
      analysis.diagnostics += lerobot.review(analysis.statistics, stateDim: analysis.shape.stateDim)
    }

    let id = makeID("ds")
    let temporary = TemporaryDirectories.create(in: home.temporaryURL.path, label: id)
    defer { FileIO.removeTree(temporary) }
    guard FileIO.kind(temporary) == .directory else {
      throw VlatuneError.ioFailure(path: temporary, message: "cannot create a temporary directory")
    }
    let bytesTotal = inventory.totalBytes
    do {
      let writer = try PackageWriter(
        directory: temporary, analysis: analysis, shardSize: request.shardSizeBytes)
      try source.readImages(of: analysis.episodes, cancellation: cancellation) {
        index, images, bytesRead in
        try writer.addEpisode(index, images: images)
        progress?(
          PrepareProgress(
            phase: "write", episodesDone: writer.episodesWritten,
            episodesTotal: analysis.episodes.count, bytesDone: bytesRead, bytesTotal: bytesTotal))
      }
      try cancellation.check()
      analysis.diagnostics += writer.diagnostics
      let errors = analysis.diagnostics.filter { $0.severity == .error }
      if !errors.isEmpty {
        throw VlatuneError.invalidDataset(
          message: "dataset '\(name)' failed validation; nothing was registered", findings: errors)
      }
      let directory = home.datasetsURL.appendingPathComponent(id).path
      let document = try writer.finish(
        id: id, name: name, createdAt: Timestamp.format(now()), finalPath: directory,
        source: DatasetDocument.Source(
          path: sourcePath, format: source.format.rawValue,
          fingerprint: analysis.sourceFingerprint(imageDigests: writer.finishImageDigests()),
          keys: inventory.keys),
        request: request)
      try cancellation.check()
      try register(document, from: temporary, to: directory, overwrite: request.overwrite)
      return document
    } catch VlatuneError.ioFailure(_, let message) where DiskSpace.isFull(message) {
      // Said with the space free once the partial package is gone.
      FileIO.removeTree(temporary)
      throw VlatuneError.ioFailure(
        path: home.datasetsURL.path,
        message: DiskSpace.shortfall(
          at: home.datasetsURL.path,
          need: "the package needs about \(ByteSize.format(bytesTotal)), the source's size",
          undone: "nothing was registered"))
    }
  }

  /// The admission decision for `prepare_dataset`: policy rules, rate limits and
  /// `dataset_roots`, decided and audited in one transaction.
  private func admit(_ request: PrepareRequest, sourcePath: String) throws {
    let resolved = URL(fileURLWithPath: sourcePath).resolvingSymlinksInPath().path
    let roots = policy.limits.datasetRoots
    try ToolGate(home: home, store: store, policy: policy, now: now).admit(
      Self.tool, actor: request.actor, arguments: request.given, reference: sourcePath,
      fingerprinted: request.arguments
    ) {
      LinkRule.isInside(resolved, roots: roots)
        ? nil
        : .policyDenied(
          message: "source \(resolved) is outside the policy's dataset_roots "
            + "(\(roots.joined(separator: ", "))); move the data or change the policy")
    }
  }

  static func openSource(_ path: String, request: PrepareRequest, scratch: String, links: LinkRule = .refuse) throws
    -> any DatasetSource
  {
    let kind = FileIO.kind(path)
    switch request.format {
    case .hdf5:
      guard kind == .missing else { return HDF5Source(path: path, options: SourceOptions(request)) }
    case .rlds:
      guard kind == .directory else { break }
      return RLDSSource(path: path, options: SourceOptions(request))
    case .npz:
      guard kind == .directory else { break }
      return NPZSource(path: path, options: SourceOptions(request))
    case .lerobot:
      guard kind == .directory else { break }
      return try lerobotSource(in: path, request: request) ?? LeRobotSource(root: path, request: request)
    case .auto:
      if kind == .directory, let source = try lerobotSource(in: path, request: request) {
        return source
      }
      if kind == .directory && RLDSSource.isPresent(in: path) {
        return RLDSSource(path: path, options: SourceOptions(request))
      }
      if NPZSource.isPresent(in: path) {
        return NPZSource(path: path, options: SourceOptions(request))
      }
      if kind != .missing && HDF5Source.isPresent(in: path) {
        return HDF5Source(path: path, options: SourceOptions(request))
      }
    case .episodes:
      break
    }
    switch kind {
    case .missing:
      throw VlatuneError.notFound(
        kind: "source", reference: path,
        hint: "give an existing directory or a .tar, .tar.gz, .tar.zst or .zip archive")
    case .directory:
      try refuseKeys(request, format: "episodes")
      return DirectorySource(root: path, defaultFPS: request.fps, links: links)
    case .regular:
      if request.format == .rlds {
        throw VlatuneError.invalidArgument(
          param: "SOURCE",
          message: "RLDS datasets are read from their directory (<name>/<version>/ with "
            + "features.json and .tfrecord shards); extract '\(path)' first")
      }
      try ArchiveProbe.check(path)
      if request.format == .lerobot {
        return LeRobotSource(archive: path, scratchParent: scratch, request: request)
      }
      if request.format == .episodes { try refuseKeys(request, format: "episodes") }
      return ArchiveSource(path: path, defaultFPS: request.fps)
    case .other:
      throw VlatuneError.invalidArgument(
        param: "SOURCE",
        message: "'\(path)' is neither a directory nor a regular file; give a directory or an "
          + "archive (.tar, .tar.gz, .tar.zst, .zip)")
    }
  }

  /// `--action-key` and `--state-keys` name keys of other formats; vlatune's own format has
  /// fixed ones (`action`, `state`).
  private static func refuseKeys(_ request: PrepareRequest, format: String) throws {
    for (flag, given) in [("--action-key", request.actionKey != nil), ("--state-keys", request.stateKeys != nil)]
    where given {
      throw VlatuneError.invalidArgument(
        param: flag,
        message: "applies to lerobot, hdf5, rlds and npz sources; this source was read as \(format), "
          + "whose steps.jsonl always names them action and state (pass --format to read it as another format)")
    }
  }

  /// The LeRobotDataset at `path`, or the only one in a folder directly below it (said in a
  /// warning); `nil` when there is none.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` naming the candidates when
  ///   several folders below hold one (and `path` itself does not).
  static func lerobotSource(in path: String, request: PrepareRequest) throws -> LeRobotSource? {
    if LeRobotInfo.isPresent(in: path) { return LeRobotSource(root: path, request: request) }
    let children = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    let found = children.filter {
      FileIO.kind(path + "/" + $0) == .directory && LeRobotInfo.isPresent(in: path + "/" + $0)
    }
    guard !found.isEmpty else { return nil }
    guard found.count == 1 else {
      throw VlatuneError.invalidArgument(
        param: "SOURCE",
        message: "\(path) holds \(found.count) LeRobotDatasets one folder down (\(found.joined(separator: ", "))); "
          + "prepare one at a time, e.g. \(path)/\(found[0])")
    }
    let source = LeRobotSource(root: path + "/" + found[0], request: request)
    source.notes.append(
      Diagnostic(
        .warning, code: "dataset_below",
        message: "the LeRobotDataset is in \(found[0])/ (meta/info.json) below the source given; it was read from there"
      ))
    return source
  }

  private func ensureNameIsFree(_ name: String) throws {
    let existing = try store.read { database in
      try DatasetRecord.filter(Column("name") == name).fetchOne(database)
    }
    if let existing {
      throw VlatuneError.outputExists(
        message: "a dataset named '\(name)' already exists (\(existing.id)); choose another "
          + "--name or pass --overwrite to replace it")
    }
  }

  private func register(
    _ document: DatasetDocument, from temporary: String, to directory: String, overwrite: Bool
  ) throws {
    let record = DatasetRecord(
      id: document.id, name: document.name, createdAt: document.createdAt,
      sourcePath: document.source.path, sourceFormat: document.source.format,
      fingerprint: document.fingerprint, episodes: document.episodes, steps: document.steps,
      directory: directory, document: try JSONOutput.string(document))
    var moved = false
    var replaced: DatasetRecord?
    do {
      try store.write { database in
        if let existing = try DatasetRecord.filter(Column("name") == document.name)
          .fetchOne(database)
        {
          guard overwrite else {
            throw VlatuneError.outputExists(
              message: "a dataset named '\(document.name)' was registered meanwhile "
                + "(\(existing.id)); pass --overwrite to replace it")
          }
          try DatasetCatalog.ensureUnused(database, existing, users: users, action: "overwrite it")
          try existing.delete(database)
          replaced = existing
        }
        try record.insert(database)
        guard rename(temporary, directory) == 0 else {
          throw VlatuneError.ioFailure(
            path: directory,
            message: "cannot move the package into place: "
              + String(cString: strerror(errno)))
        }
        moved = true
      }
    } catch {
      if moved { FileIO.removeTree(directory) }
      throw error
    }
    if let replaced { FileIO.removeTree(replaced.directory) }
  }
}
