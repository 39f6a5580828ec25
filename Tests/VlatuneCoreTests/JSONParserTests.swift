import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct JSONParserTests {
  @Test func parsesNestedDocuments() throws {
    let value = try JSONParser.parse(
      #"{"a": [1, -2.5e3, true, null], "b": {"c": "x\"y\u00e9\n"}, "d": []}"#)
    #expect(value["a"] == .array([.number(1), .number(-2500), .bool(true), .null]))
    #expect(value["b"]?["c"]?.stringValue == "x\"yé\n")
    #expect(value["d"] == .array([]))
  }

  @Test func readsPythonNonFiniteTokens() throws {
    let value = try JSONParser.parse("[NaN, Infinity, -Infinity, 1]")
    let numbers = try #require(value.arrayValue).compactMap(\.numberValue)
    #expect(numbers[0].isNaN)
    #expect(numbers[1] == .infinity)
    #expect(numbers[2] == -.infinity)
  }

  @Test func decodesSurrogatePairs() throws {
    #expect(try JSONParser.parse(#""\ud83e\udd16""#).stringValue == "🤖")
  }

  /// A high surrogate followed by an escape that is not a low one was an arithmetic-overflow trap.
  @Test(arguments: [
    (#""\ud800\u0000""#, "\u{FFFD}\u{0}"), (#""\ud800\u0041x""#, "\u{FFFD}Ax"),
    (#""\ud800\ud800""#, "\u{FFFD}\u{FFFD}"), (#""\udc00""#, "\u{FFFD}"), (#""\ud800""#, "\u{FFFD}"),
  ])
  func loneSurrogatesBecomeReplacementCharacters(_ text: String, _ expected: String) throws {
    #expect(try JSONParser.parse(text).stringValue == expected)
  }

  @Test(arguments: [
    (#"{"name": 1, "name": 2}"#, "duplicate key 'name'"),
    (#"{"NAME": 1, "name": 2}"#, "duplicate key 'name' (also 'NAME')"),
    (#"{"a": {"x": 1, "X": 2}}"#, "duplicate key 'X' (also 'x')"),
    (#"[{"id": 1}, {"Id": 1, "iD": 2}]"#, "duplicate key 'iD' (also 'Id')"),
    // Go's encoding/json folds these too (Intercept reads the envelope with it).
    (#"{"params": {}, "paramſ": {}}"#, "duplicate key 'paramſ' (also 'params')"),
    (#"{"kind": 1, "\#u{212A}ind": 2}"#, "duplicate key '\u{212A}ind' (also 'kind')"),
  ])
  func duplicateKeysAreRefusedWhenAsked(_ text: String, _ message: String) throws {
    #expect(throws: JSONParser.SyntaxError.self) {
      try JSONParser.parse(Array(text.utf8), refusingDuplicateKeys: true)
    }
    do {
      _ = try JSONParser.parse(Array(text.utf8), refusingDuplicateKeys: true)
    } catch let error as JSONParser.SyntaxError {
      #expect(error.message == message)
    }
    // By default the first of the repeated keys wins, as before.
    #expect(throws: Never.self) { try JSONParser.parse(text) }
  }

  @Test(arguments: [
    "{", "[1,", "{\"a\" 1}", "[1 2]", "tru", "\"unterminated", "{\"a\":1} x", "-", "[1.2.3]",
    "\"\u{01}\"",
  ])
  func rejectsMalformedInput(_ text: String) {
    #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
  }

  @Test func limitsNesting() {
    let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(deep) }
  }
}
