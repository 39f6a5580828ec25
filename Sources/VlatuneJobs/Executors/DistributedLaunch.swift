import VlatuneSupport

/// Turns the trainer command into a torchrun launch when a job has more than one training
/// process: `python -m torch.distributed.run --nproc_per_node=P … -m vlatune_trainer` on one
/// node (`--standalone`), and `srun` starting one torchrun per node with a c10d rendezvous on the
/// allocation's first node when `nodes` > 1 (the watcher fills in `{head_node}`).
///
/// Only the Python trainer (`<python> -m vlatune_trainer`) is wrapped; a custom
/// `VLATUNE_TRAINER` command is run as given and must start its own processes.
public enum DistributedLaunch {
  /// The placeholder for the rendezvous host in multi-node commands.
  public static let headNode = "{head_node}"

  /// The command for `nodes` × `processes` training processes.
  public static func argv(_ command: [String], nodes: Int, processes: Int, jobID: String) -> [String] {
    guard nodes * processes > 1, command.count >= 3, command.suffix(2) == ["-m", "vlatune_trainer"] else {
      return command
    }
    let python = Array(command.dropLast(2))
    var launch = python + ["-m", "torch.distributed.run", "--nproc_per_node=\(processes)"]
    if nodes > 1 {
      launch += [
        "--nnodes=\(nodes)", "--rdzv_backend=c10d", "--rdzv_id=\(jobID)",
        "--rdzv_endpoint=\(headNode):29400",
      ]
      launch = ["srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1"] + launch
    } else {
      launch += ["--standalone"]
    }
    return launch + ["-m", "vlatune_trainer"]
  }
}
