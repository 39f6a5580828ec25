/// `job status REF` and `job status REF --json`, read without ArgumentParser.
///
/// Scripts, `watch` loops and agents poll `job status`, so its latency is the one a user feels
/// most. ArgumentParser's parse was about a fifth of the command's CPU time: it first parses
/// the arguments twice more, looking for `--generate-completion-script`, and it reflects over
/// every property of the commands it visits. This reads only those two exact forms (the flag
/// before or after the reference) and answers `nil` for everything else, which ArgumentParser
/// parses as it always does: `--watch`, `--help` and `-h`, a second positional, `--`, any other
/// token that starts with `-`, an empty reference and `help`. Tests check that every form it
/// accepts gives the same values through ArgumentParser.
enum StatusFastPath {
  /// What `job status` was asked for.
  struct Request: Equatable {
    /// The job id, id prefix or name.
    var job: String
    /// Whether `--json` was given.
    var json: Bool
  }

  /// The request when `arguments` (without the program name) is `job status REF`, with
  /// `--json` once before or after `REF`; `nil` for anything else.
  static func parse(_ arguments: [String]) -> Request? {
    guard arguments.count == 3 || arguments.count == 4, arguments[0] == "job", arguments[1] == "status"
    else { return nil }
    var job: String?
    var json = false
    for argument in arguments.dropFirst(2) {
      if argument == "--json" {
        if json { return nil }
        json = true
      } else if job == nil, !argument.isEmpty, !argument.hasPrefix("-"), argument != "help" {
        job = argument
      } else {
        return nil
      }
    }
    // Four arguments that got here are a reference and `--json`; three, a reference alone.
    guard let job else { return nil }
    return Request(job: job, json: json)
  }
}
