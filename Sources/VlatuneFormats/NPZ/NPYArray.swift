import Foundation
import VlatuneSupport

/// One array of a NumPy `.npy` file (format versions 1–3): its element type, shape and the raw
/// little-endian bytes, C order.
package struct NPYArray {
  /// A problem with the file, for messages.
  struct Problem: Error, CustomStringConvertible {
    var description: String
  }

  /// The element type code (`f4`, `f8`, `u1`, `i8`, …), without the byte order.
  var type: String
  var shape: [Int]
  var bytes: [UInt8]

  /// Bytes per element.
  var elementSize: Int { Int(type.dropFirst()) ?? 1 }
  var isFloat: Bool { type.hasPrefix("f") }
  package var isNumeric: Bool {
    ["f4", "f8", "f2", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"].contains(type)
  }
  /// The first dimension (the steps).
  var rows: Int { shape.first ?? 0 }
  /// Values per row.
  var width: Int { shape.dropFirst().reduce(1, *) }

  /// Parses a `.npy` file's bytes.
  package init(_ data: [UInt8]) throws {
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard data.count >= 10, Array(data[0..<6]) == magic else { throw Problem(description: "is not a .npy array") }
    let major = data[6]
    let headerLength: Int
    let start: Int
    if major == 1 {
      headerLength = Int(data[8]) | Int(data[9]) << 8
      start = 10
    } else {
      guard data.count >= 12 else { throw Problem(description: "has a truncated header") }
      headerLength = (0..<4).reduce(0) { $0 | Int(data[8 + $1]) << (8 * $1) }
      start = 12
    }
    guard start + headerLength <= data.count else { throw Problem(description: "has a truncated header") }
    let header = String(decoding: data[start..<(start + headerLength)], as: UTF8.self)
    guard let descr = Self.value(of: "descr", in: header)?.stripped("'\""),
      let order = Self.value(of: "fortran_order", in: header),
      let shapeText = Self.value(of: "shape", in: header)
    else { throw Problem(description: "has a header without descr, fortran_order and shape: \(header)") }
    guard order == "False" else {
      throw Problem(description: "is stored in Fortran order; save it with np.ascontiguousarray")
    }
    guard let byteOrder = descr.first, "<|=".contains(byteOrder) else {
      throw Problem(description: "holds \(descr) values; vlatune reads little-endian numbers")
    }
    type = String(descr.dropFirst())
    guard ["f", "i", "u", "b"].contains(type.first.map(String.init) ?? "") else {
      throw Problem(description: "holds \(descr) values; vlatune reads numbers (float, int, uint8)")
    }
    shape = shapeText.stripped("() ").split(separator: ",").compactMap {
      Int(String($0).stripped(" "))
    }
    // Hostile headers: a negative or overflowing shape, an element size beyond 8 bytes.
    let elementSize = Int(type.dropFirst()) ?? 0
    guard (1...8).contains(elementSize), shape.allSatisfy({ $0 >= 0 }) else {
      throw Problem(
        description:
          "has an unreadable header (descr \(descr), shape \(shapeText)); save the array again with numpy.save")
    }
    var expected = elementSize
    for dimension in shape {
      let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
      guard !overflow, product <= data.count else {
        throw Problem(
          description:
            "declares shape \(shape) \(descr), more than the file's \(data.count) bytes; the file is truncated or corrupt: save it again"
        )
      }
      expected = product
    }
    guard data.count - start - headerLength >= expected else {
      throw Problem(description: "holds \(data.count - start - headerLength) bytes of data for shape \(shape) \(descr)")
    }
    bytes = Array(data[(start + headerLength)..<(start + headerLength + expected)])
  }

  /// The text after `'key':` up to the next top-level comma (a tuple is kept whole).
  private static func value(of key: String, in header: String) -> String? {
    guard let range = header.range(of: "'\(key)':") else { return nil }
    var depth = 0
    var result = ""
    for character in header[range.upperBound...] {
      if character == "(" { depth += 1 }
      if character == ")" { depth -= 1 }
      if (character == "," || character == "}") && depth == 0 { break }
      result.append(character)
    }
    return result.stripped(" ")
  }

  /// Every value as a double.
  package func doubles() -> [Double] {
    let count = shape.reduce(1, *)
    var result = [Double](repeating: 0, count: count)
    bytes.withUnsafeBytes { raw in
      for index in 0..<count {
        let offset = index * elementSize
        switch type {
        case "f4":
          result[index] = Double(
            Float(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian))
        case "f8":
          result[index] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
        case "f2":
          result[index] = Double(
            Float16(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian))
        case "i1": result[index] = Double(Int8(bitPattern: raw[offset]))
        case "i2":
          result[index] = Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
        case "i4":
          result[index] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        case "i8":
          result[index] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
        case "u2":
          result[index] = Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case "u4":
          result[index] = Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case "u8":
          result[index] = Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        default: result[index] = Double(raw[offset])
        }
      }
    }
    return result
  }
}

extension String {
  /// The string without leading and trailing characters of `set`.
  fileprivate func stripped(_ set: String) -> String {
    var view = Substring(self)
    while let first = view.first, set.contains(first) { view = view.dropFirst() }
    while let last = view.last, set.contains(last) { view = view.dropLast() }
    return String(view)
  }
}
