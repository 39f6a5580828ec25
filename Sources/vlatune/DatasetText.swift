import Foundation
import VlatuneCore

/// Human renderings of dataset documents.
enum DatasetText {
  static func summary(_ document: DatasetDocument) -> String {
    let bytes = document.shards.reduce(Int64(0)) { $0 + $1.bytes }
    let cameras = document.cameras.map { "\($0.key) \($0.width)×\($0.height) \($0.encoding)" }
    return """
      \(document.id)  \(document.name)
        episodes   \(document.episodes) (\(document.splits.train) train / \(document.splits.val) val), \(document.steps) steps at \(document.fps) fps
        action     \(document.actionDim) dims, state \(document.stateDim) dims
        cameras    \(cameras.isEmpty ? "none" : cameras.joined(separator: ", "))
        tasks      \(document.instructions.count) instruction(s)
        package    \(document.path) (\(document.shards.count) shards, \(ByteSize.format(bytes)))
        stats      dataset_statistics.json (unnorm_key "\(document.name)")
        source     \(document.source.path) [\(document.source.format)] \(document.source.fingerprint.prefix(19))…

      """
  }

  static func warnings(_ warnings: [Diagnostic]) -> String {
    var lines: [String] = []
    var constant: [String: [String]] = [:]
    for warning in warnings {
      // Robots with many unused joints have dozens of constant dimensions: one line per vector.
      if warning.code == "constant_dimension", let field = warning.field,
        let open = field.firstIndex(of: "["), field.hasSuffix("]")
      {
        let vector = String(field[..<open])
        if constant[vector] == nil { lines.append("\u{0}" + vector) }
        constant[vector, default: []].append(
          String(field[field.index(after: open)..<field.index(before: field.endIndex)]))
      } else {
        lines.append("warning: \(warning)")
      }
    }
    lines = lines.map { line in
      guard line.hasPrefix("\u{0}") else { return line }
      let vector = String(line.dropFirst())
      let dims = constant[vector] ?? []
      let action = vector == "action" ? "masked and not normalized" : "consider dropping them"
      return "warning: \(vector): \(dims.count) constant dimension(s) [\(dims.joined(separator: ", "))]; \(action)"
    }
    // The count counts the lines below; grouped constant dimensions say their own number.
    var text =
      "\(lines.count) warning(s)"
      + (lines.count == warnings.count ? "" : " (\(warnings.count) findings; manifest.json lists each)") + ":\n"
    for line in lines.prefix(50) { text += "  \(TerminalText.escaped(line))\n" }
    if lines.count > 50 { text += "  … and \(lines.count - 50) more (see manifest.json)\n" }
    return text
  }

  static func table(_ documents: [DatasetDocument]) -> String {
    var rows = [["ID", "NAME", "EPISODES", "STEPS", "CREATED"]]
    for document in documents {
      rows.append([
        document.id, document.name, "\(document.episodes)", "\(document.steps)",
        document.createdAt,
      ])
    }
    return TextTable.render(rows)
  }
}

/// Left-aligned columns separated by two spaces.
enum TextTable {
  static func render(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
      row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0)
      }.joined()
    }.joined(separator: "\n") + "\n"
  }
}
