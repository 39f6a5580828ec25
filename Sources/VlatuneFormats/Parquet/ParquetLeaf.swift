import VlatuneSupport

/// A leaf column of a Parquet schema with the levels needed to reassemble its rows.
package struct ParquetLeaf {
  /// Names from the top-level field down (`["action", "list", "element"]`,
  /// `["observation.images.front", "bytes"]`).
  var path: [String]
  /// Physical type: 0 BOOLEAN, 1 INT32, 2 INT64, 3 INT96, 4 FLOAT, 5 DOUBLE, 6 BYTE_ARRAY,
  /// 7 FIXED_LEN_BYTE_ARRAY.
  var type: Int32
  var maxDefinition: Int
  var maxRepetition: Int
  /// The definition level at which a list's container is present (its entries, if any, are one
  /// level deeper); `nil` for columns with no repeated ancestor.
  var listPresentDefinition: Int?
  /// Why the column cannot be read (a list of lists), if so; other columns stay readable.
  package var unsupported: String?

  /// The dotted path, for messages.
  var name: String { path.joined(separator: ".") }

  /// The physical type's name, for messages.
  static func typeName(_ type: Int32) -> String {
    switch type {
    case 0: return "BOOLEAN"
    case 1: return "INT32"
    case 2: return "INT64"
    case 3: return "INT96"
    case 4: return "FLOAT"
    case 5: return "DOUBLE"
    case 6: return "BYTE_ARRAY"
    case 7: return "FIXED_LEN_BYTE_ARRAY"
    default: return "type \(type)"
    }
  }

  /// Every leaf of a flattened schema (its first element is the root).
  static func leaves(of schema: [ParquetMetadata.SchemaElement]) throws -> [ParquetLeaf] {
    guard let root = schema.first else { throw ParquetError.malformed("the schema is empty") }
    var leaves: [ParquetLeaf] = []
    var index = 1
    func visit(
      path: [String], definition: Int, repetition: Int, listPresent: Int?, problem: String?
    ) throws {
      guard index < schema.count else {
        throw ParquetError.malformed("the schema has fewer elements than its groups declare")
      }
      let element = schema[index]
      index += 1
      var definition = definition
      var repetition = repetition
      var listPresent = listPresent
      var problem = problem
      switch element.repetition {
      case 1: definition += 1
      case 2:
        if repetition > 0 { problem = "it is a list of lists" }
        listPresent = definition
        definition += 1
        repetition += 1
      default: break
      }
      let childPath = path + [element.name]
      if element.childCount > 0 {
        for _ in 0..<element.childCount {
          try visit(
            path: childPath, definition: definition, repetition: repetition,
            listPresent: listPresent, problem: problem)
        }
      } else {
        guard let type = element.type else {
          throw ParquetError.malformed("leaf '\(childPath.joined(separator: "."))' has no type")
        }
        leaves.append(
          ParquetLeaf(
            path: childPath, type: type, maxDefinition: definition, maxRepetition: repetition,
            listPresentDefinition: listPresent, unsupported: problem))
      }
    }
    for _ in 0..<root.childCount {
      try visit(path: [], definition: 0, repetition: 0, listPresent: nil, problem: nil)
    }
    return leaves
  }
}
