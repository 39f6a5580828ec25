import CMedia
import Foundation
import VlatuneSupport

/// A read-only HDF5 file (libhdf5 through the `CHDF5` shim), with errors that name the object.
package final class HDF5File {
  /// An HDF5 call failed; the message names the path and HDF5's reason.
  struct Problem: Error, CustomStringConvertible {
    var message: String
    /// The file reaches outside itself (an external link, external raw storage, a virtual
    /// dataset over another file) and was not opened.
    var leavesFile = false
    var description: String { message }
  }

  /// A dataset's shape and element type.
  struct Shape {
    var dims: [Int]
    /// 1 integer, 2 float, 3 string, 4 other.
    var typeClass: Int32
    var elementSize: Int
  }

  let path: String
  private let id: Int64
  private let media: vlatune_media

  /// Opens `path` read-only; a file whose data lies partly in other files is refused
  /// (``Problem/leavesFile``), so that nothing outside the files a user named is read.
  init(path: String) throws {
    self.path = path
    media = try MediaLibrary.functions()
    var message = [CChar](repeating: 0, count: 512)
    let id = media.h5_open(path, &message, message.count)
    guard id >= 0 else { throw Problem(message: Self.text(message), leavesFile: id == -2) }
    self.id = id
  }

  deinit { media.h5_close(id) }

  private static func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Runs a shim call that reports through an error buffer.
  private func call(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Int32 {
    var message = [CChar](repeating: 0, count: 512)
    let status = message.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    guard status >= 0 else { throw Problem(message: Self.text(message)) }
    return status
  }

  /// Splits a NUL-separated buffer from the shim and frees it.
  private func names(_ buffer: UnsafeMutablePointer<CChar>?, count: Int) -> [String] {
    guard let buffer else { return [] }
    defer { media.h5_free(buffer) }
    var result: [String] = []
    var cursor = buffer
    for _ in 0..<count {
      let length = strlen(cursor)
      result.append(
        String(decoding: UnsafeRawBufferPointer(start: cursor, count: length), as: UTF8.self))
      cursor += length + 1
    }
    return result
  }

  /// 0 missing, 1 group, 2 dataset, 3 other.
  func kind(_ object: String) -> Int32 { media.h5_kind(id, object) }

  /// A group's children, in natural order (`demo_2` before `demo_10`).
  func children(_ group: String) throws -> [String] {
    var buffer: UnsafeMutablePointer<CChar>?
    var count = 0
    _ = try call { media.h5_children(id, group, &buffer, &count, $0, $1) }
    return names(buffer, count: count).sorted {
      $0.compare($1, options: .numeric) == .orderedAscending
    }
  }

  func shape(_ dataset: String) throws -> Shape {
    var rank: Int32 = 0
    var dims = [UInt64](repeating: 0, count: 8)
    var typeClass: Int32 = 0
    var elementSize = 0
    var signed: Int32 = 0
    _ = try call { message, length in
      dims.withUnsafeMutableBufferPointer { dims in
        media.h5_shape(id, dataset, &rank, dims.baseAddress, &typeClass, &elementSize, &signed, message, length)
      }
    }
    return Shape(dims: dims.prefix(Int(rank)).map { Int($0) }, typeClass: typeClass, elementSize: elementSize)
  }

  /// A whole numeric dataset as doubles, with its shape.
  func doubles(_ dataset: String) throws -> (values: [Double], shape: Shape) {
    let shape = try shape(dataset)
    let count = shape.dims.reduce(1, *)
    var values = [Double](repeating: 0, count: count)
    _ = try call { message, length in
      values.withUnsafeMutableBufferPointer {
        media.h5_read_doubles(id, dataset, $0.baseAddress, count, message, length)
      }
    }
    return (values, shape)
  }

  /// Rows `rows` along dimension 0 of a 1-byte dataset, as raw bytes.
  func bytes(_ dataset: String, rows: Range<Int>, rowBytes: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: rows.count * rowBytes)
    _ = try call { message, length in
      output.withUnsafeMutableBufferPointer {
        media.h5_read_u8_rows(
          id, dataset, UInt64(rows.lowerBound), UInt64(rows.count), $0.baseAddress, $0.count, message, length)
      }
    }
    return output
  }

  /// A dataset of strings (robomimic's `mask/train`).
  func strings(_ dataset: String) throws -> [String] {
    var buffer: UnsafeMutablePointer<CChar>?
    var count = 0
    _ = try call { media.h5_read_strings(id, dataset, &buffer, &count, $0, $1) }
    return names(buffer, count: count)
  }

  /// A string attribute, or `nil` when absent.
  func attribute(_ name: String, of object: String = "/") throws -> String? {
    var value: UnsafeMutablePointer<CChar>?
    let status = try call { media.h5_attribute_string(id, object, name, &value, $0, $1) }
    guard status == 0, let value else { return nil }
    defer { media.h5_free(value) }
    return String(cString: value)
  }

  /// A numeric or boolean attribute, or `nil` when absent.
  func number(_ name: String, of object: String = "/") throws -> Double? {
    var value = 0.0
    let status = try call { media.h5_attribute_double(id, object, name, &value, $0, $1) }
    return status == 0 ? value : nil
  }
}
