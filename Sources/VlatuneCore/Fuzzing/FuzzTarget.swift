/// The parsers that read files users download, as entry points for coverage-guided fuzzing
/// (`make fuzz`, Fuzz/) and for the regression inputs `make test` replays
/// (Fuzz/regressions/<target>/, FuzzRegressionTests).
///
/// ``run(_:)`` feeds one input to one parser the way `dataset prepare` or the policy loader
/// would. Every outcome but a crash is acceptable: a thrown error or a diagnostic is the parser
/// doing its job. A runtime trap (overflow, out-of-range index, precondition) is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// `JSONParser`, with and without duplicate-key refusal (meta.json, info.json, MCP envelopes).
  case json
  /// `EpisodeParser` then `DatasetValidator` and the action-leak check on one `episodes`
  /// episode. The input is `meta.json`, a 0xFF byte, then `steps.jsonl` (no 0xFF: no steps file).
  case episode
  /// `ParquetFile`: footer (Thrift compact), schema, then every readable leaf column (page
  /// headers, RLE/bit-packed levels, dictionary and data pages, codecs).
  case parquet
  /// `TFRecordReader` framing and checksums, then each record decoded as an RLDS episode
  /// (`tf.train.Example` / `SequenceExample`) with a 7-wide action and state and one camera.
  case tfrecord
  /// `PolicyLoader.load`: the YAML policy file, its schema and its rules.
  case policy
  /// `NPYArray`: a NumPy `.npy` header and its data (the npz source).
  case npy

  /// The largest input a target is given; longer ones are cut (parsers have their own limits,
  /// this keeps one fuzz iteration short).
  public static let maximumInputBytes = 1 << 20

  /// Feeds `input` to the target's parser, discarding every result and error.
  public func run(_ input: [UInt8]) {
    let bytes = input.count > Self.maximumInputBytes ? Array(input.prefix(Self.maximumInputBytes)) : input
    switch self {
    case .json:
      _ = try? JSONParser.parse(bytes)
      _ = try? JSONParser.parse(bytes, refusingDuplicateKeys: true)
    case .episode:
      Self.episode(bytes)
    case .parquet:
      Self.parquet(bytes)
    case .tfrecord:
      Self.tfrecord(bytes)
    case .policy:
      _ = try? PolicyLoader.load(String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml")
    case .npy:
      if let array = try? NPYArray(bytes), array.isNumeric { _ = array.doubles() }
    }
  }

  private static func episode(_ bytes: [UInt8]) {
    let split = bytes.firstIndex(of: 0xFF)
    let meta = Array(bytes[..<(split ?? bytes.endIndex)])
    let steps = split.map { Array(bytes[($0 + 1)...]) }
    var parser = EpisodeParser(name: "episode_000000", directory: "episode_000000")
    guard let record = parser.parse(meta: meta, steps: steps) else { return }
    let (shape, _) = DatasetValidator.validate([record], files: PathSet())
    if let shape { _ = ActionLeakCheck.diagnostics([record], shape: shape, keys: nil) }
  }

  private static func parquet(_ bytes: [UInt8]) {
    guard let file = try? ParquetFile(bytes: bytes) else { return }
    for leaf in file.leaves where leaf.unsupported == nil {
      guard let column = try? file.column(leaf) else { continue }
      _ = column.doubles
      for row in 0..<column.rowCount { _ = column.range(ofRow: row) }
    }
  }

  private static func tfrecord(_ bytes: [UInt8]) {
    var features = RLDSFeatures()
    features.steps = [
      "steps/action": .tensor(dimensions: [7], dtype: "float32"),
      "steps/observation/state": .tensor(dimensions: [7], dtype: "float32"),
      "steps/observation/image_0": .image(format: "jpeg"),
      "steps/language_instruction": .text,
    ]
    features.stateKeys = ["steps/observation/state"]
    let reader = TFRecordReader(bytes: bytes)
    // A hostile file can hold many empty records; a real episode file has a few dozen.
    for index in 0..<64 {
      guard let record = try? reader.next() else { return }
      guard let episode = try? RLDSEpisode(record, features: features, cameras: ["image_0"], source: "fuzz")
      else { continue }
      _ = episode.flagProblems()
      var diagnostics: [Diagnostic] = []
      _ = try? episode.record(
        name: "episode_\(index)", fps: 5, instruction: nil, cameras: ["image_0"], diagnostics: &diagnostics)
    }
  }
}
