import Testing

@testable import VlatuneCore

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
