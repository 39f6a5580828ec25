import Foundation
import MCP
import VlatuneCore

/// JSON Schemas generated from the parameter tables, so the MCP input schemas can never drift
/// from what the core validates.
enum JSONSchema {
  /// An object schema for a parameter table (types, ranges, enums, defaults, descriptions,
  /// `required`, `additionalProperties: false`).
  static func input(_ table: ParameterTable, extra: [String: Value] = [:]) -> Value {
    var properties: [String: Value] = [:]
    for definition in table.definitions {
      properties[definition.name] = property(definition)
    }
    for (name, schema) in extra { properties[name] = schema }
    var schema: [String: Value] = [
      "type": "object",
      "properties": .object(properties),
      "required": .array(
        table.definitions.filter { $0.required && $0.requiredUnless == nil }.map { .string($0.name) }),
      "additionalProperties": false,
    ]
    // Parameters required unless another is given: either all of them, or that one.
    let conditional = table.definitions.filter { $0.required && $0.requiredUnless != nil }
    if let unless = conditional.first?.requiredUnless {
      schema["anyOf"] = [
        ["required": .array(conditional.map { .string($0.name) })], ["required": [.string(unless)]],
      ]
    }
    return .object(schema)
  }

  static func property(_ definition: ParameterDefinition) -> Value {
    var schema: [String: Value] = ["description": .string(definition.help)]
    switch definition.kind {
    case .string(let maxLength):
      schema["type"] = "string"
      schema["maxLength"] = .int(maxLength)
      if definition.required { schema["minLength"] = 1 }
    case .integer:
      schema["type"] = "integer"
    case .number:
      schema["type"] = "number"
    case .boolean:
      schema["type"] = "boolean"
    case .choice(let values):
      schema["type"] = "string"
      schema["enum"] = .array(values.map { .string($0) })
    case .keyValues(let pairs, _, let valueLength):
      schema["type"] = "object"
      schema["maxProperties"] = .int(pairs)
      schema["additionalProperties"] = .object(["type": "string", "maxLength": .int(valueLength)])
    case .stringList(let items):
      schema["type"] = "array"
      schema["items"] = .object(["type": "string", "minLength": 1])
      schema["maxItems"] = .int(items)
    }
    if let minimum = definition.minimum {
      schema[definition.exclusiveMinimum ? "exclusiveMinimum" : "minimum"] = number(minimum, definition)
    }
    if let maximum = definition.maximum {
      schema[definition.exclusiveMaximum ? "exclusiveMaximum" : "maximum"] = number(maximum, definition)
    }
    if let fallback = definition.defaultValue { schema["default"] = MCPValue.from(fallback) }
    return .object(schema)
  }

  static func number(_ value: Double, _ definition: ParameterDefinition) -> Value {
    definition.kind == .integer ? .int(Int(value)) : .double(value)
  }

  /// A loose object schema naming the document's main fields; errors (`{"error": …}`) conform too.
  static func output(_ fields: [String: String]) -> Value {
    var properties: [String: Value] = [
      "schema_version": .object(["type": "integer"]),
      "error": .object([
        "type": ["object", "null"],
        "properties": .object([
          "code": .object(["type": "string"]), "message": .object(["type": "string"]),
          "param": .object(["type": ["string", "null"]]),
          "retry_after_seconds": .object(["type": ["number", "null"]]),
        ]),
      ]),
    ]
    for (name, type) in fields { properties[name] = .object(["type": [.string(type), "null"]]) }
    return .object(["type": "object", "properties": .object(properties)])
  }
}

/// Conversions between the core's ``JSONValue`` and the SDK's `Value`.
enum MCPValue {
  static func from(_ value: JSONValue) -> Value {
    switch value {
    case .null: .null
    case .bool(let flag): .bool(flag)
    case .number(let number):
      number == number.rounded() && abs(number) < 1e15 ? .int(Int(number)) : .double(number)
    case .string(let text): .string(text)
    case .array(let items): .array(items.map(from))
    case .object(let members): .object(members.mapValues(from))
    }
  }

  static func to(_ value: Value) -> JSONValue {
    switch value {
    case .null: .null
    case .bool(let flag): .bool(flag)
    case .int(let number): .number(Double(number))
    case .double(let number): .number(number)
    case .string(let text): .string(text)
    case .data(_, let data): .string(data.base64EncodedString())
    case .array(let items): .array(items.map(to))
    case .object(let members): .object(members.mapValues(to))
    }
  }
}
