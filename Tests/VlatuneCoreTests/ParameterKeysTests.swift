import Testing

@testable import VlatuneGuardrails
@testable import VlatuneSupport

/// The typed keys the resolver reads parameters through agree with their tables, so a default
/// is written once (in the table) and a parameter cannot be read as the wrong type.
@Suite struct ParameterKeysTests {
  @Test func jobParameterKeysMatchTheTable() {
    #expect(JobParameters.table.mismatches(JobParameters.keys) == [])
    #expect(JobParameters.keys.count == JobParameters.table.definitions.count)
  }

  @Test func prepareAndResumeKeysMatchTheirTables() {
    #expect(PrepareParameters.table.mismatches(PrepareParameters.keys) == [])
    #expect(ResumeParameters.table.mismatches(ResumeParameters.keys) == [])
    #expect(EvalParameters.table.mismatches(EvalParameters.keys) == [])
  }

  @Test func aMismatchIsNamed() {
    let table = ParameterTable([
      ParameterDefinition(name: "steps", kind: .integer, defaultValue: .number(10), help: "Steps."),
      ParameterDefinition(name: "label", kind: .string(maxLength: 8), help: "A label."),
      ParameterDefinition(name: "rate", kind: .number, defaultValue: .number(0.5), help: "A rate."),
      ParameterDefinition(name: "unread", kind: .boolean, help: "Read by no key."),
    ])
    let keys: [any TypedParameter] = [
      Parameter<String>("steps"), Parameter<String>("label"), OptionalParameter<Double>("rate"),
      OptionalParameter<Int>("absent"),
    ]
    #expect(
      table.mismatches(keys) == [
        "key steps reads String but the parameter is integer",
        "the default of steps is not a String",
        "key label expects a default the table does not give",
        "key rate is optional but the table gives a default: make it a Parameter",
        "key absent names no parameter of the table",
        "parameter unread has no typed key",
      ])
  }

  @Test func valuesReadThroughKeysCarryTheTableDefaults() throws {
    let values = ParameterValues(
      try JobParameters.table.validate(["base_model": .string("tiny-vla"), "dataset": .string("d")]))
    #expect(values[.batchSize] == 8)
    #expect(values[.learningRate] == 5e-4)
    #expect(values[.targetModules] == ["all-linear"])
    #expect(values[.gradientCheckpointing] == false)
    #expect(values[.seed] == nil)
    #expect(values[.baseModel] == "tiny-vla")
    let given = ParameterValues(
      try JobParameters.table.validate([
        "base_model": .string("tiny-vla"), "dataset": .string("d"), "batch_size": .number(3),
        "image_map": .object(["top": .string("front")]),
      ]))
    #expect(given[.batchSize] == 3)
    #expect(given[.imageMap] == ["top": "front"])
  }
}
