import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job start`.
  struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Start a LoRA fine-tune in the background and print its id.",
      discussion: """
        The job outlives this command: a detached watcher starts the trainer, records its
        progress and outcome. Follow it with 'vlatune job status ID --watch'.
        """)

    @Option(help: "Built-in model (tiny-vla) or a local checkpoint directory with config.json.")
    var baseModel: String

    @Option(help: "Dataset id, unique id prefix, or name.")
    var dataset: String

    @Option(help: "LoRA rank, 1…1024.") var loraRank: Int = 32
    @Option(help: "LoRA alpha, > 0.") var loraAlpha: Double = 16
    @Option(help: "LoRA dropout, [0, 1).") var loraDropout: Double = 0
    @Option(help: "Learning rate, (0, 1).") var learningRate: Double = 5e-4
    @Option(help: "Batch size per device, 1…4096.") var batchSize: Int = 8
    @Option(help: "Gradient accumulation steps, 1…1024.") var gradAccum: Int = 1
    @Option(help: "Optimizer steps, 1…10000000.") var maxSteps: Int = 1000
    @Option(help: "Seed (default: drawn at random and recorded).") var seed: UInt64?
    @Option(help: "GPUs, 0…64 (default 1 if this machine has one, else 0 = CPU).") var gpus: Int?
    @Option(help: "A name for the job.") var name: String?
    @Option(help: "Executor: local.") var executor: String = "local"
    @OptionGroup var actor: ActorOptions
    @Flag(help: "Validate and resolve; start nothing.") var dryRun = false
    @Flag(help: "Block until the job ends; exit 0 / 100 failed or lost / 103 cancelled.") var wait = false
    @Flag(help: "Print only the job id.") var quiet = false
    @Flag(help: "Print the job document as JSON.") var json = false

    func request(_ environment: [String: String]) -> JobRequest {
      var request = JobRequest(baseModel: baseModel, dataset: dataset)
      request.loraRank = loraRank
      request.loraAlpha = loraAlpha
      request.loraDropout = loraDropout
      request.learningRate = learningRate
      request.batchSize = batchSize
      request.gradAccum = gradAccum
      request.maxSteps = maxSteps
      request.seed = seed
      request.gpus = gpus
      request.name = name
      request.executor = executor
      request.actor = actor.resolved(environment)
      return request
    }

    func run() async throws {
      let environment = ProcessInfo.processInfo.environment
      let request = request(environment)
      try request.validate()
      let context = try VlatuneContext.open(environment: environment)
      let launcher = JobLauncher(
        context: context, watcherExecutable: ProcessSpawner.currentExecutable)
      if dryRun {
        let spec = try launcher.resolve(request)
        if json { Output.json(spec) } else { Output.standardOutput(try JSONOutput.string(spec) + "\n") }
        return
      }
      var document = try launcher.start(request)
      if wait {
        if !quiet && !json { Output.standardError("\(document.id) started; waiting for it to end…\n") }
        document = try JobControl(context: context).wait(document.id, timeout: nil)
      }
      if json {
        Output.json(document)
      } else if quiet {
        Output.standardOutput(document.id + "\n")
      } else {
        Output.standardOutput(JobText.summary(document))
      }
      if wait && document.state.waitExitStatus != 0 { throw ExitCode(document.state.waitExitStatus) }
    }
  }
}
