import Foundation
import Synchronization
import VlatuneCore

/// A one-line progress display on a terminal's stderr: episodes/s, MB/s and ETA, redrawn at most
/// five times a second; silent when stderr is not a terminal.
final class ProgressLine: Sendable {
  private struct State {
    var lastDraw = Date.distantPast
    var phaseStart = Date()
    var phase = ""
    var drawn = false
  }

  private let state = Mutex(State())
  private let enabled: Bool

  init(enabled: Bool = Output.standardErrorIsTerminal) { self.enabled = enabled }

  func update(_ progress: PrepareProgress) {
    guard enabled else { return }
    let now = Date()
    let line: String? = state.withLock { state in
      if state.phase != progress.phase {
        state.phase = progress.phase
        state.phaseStart = now
      } else if now.timeIntervalSince(state.lastDraw) < 0.2 {
        return nil
      }
      state.lastDraw = now
      state.drawn = true
      let elapsed = max(now.timeIntervalSince(state.phaseStart), 1e-3)
      if progress.phase == "scan" { return "scanning source…" }
      let episodesPerSecond = Double(progress.episodesDone) / elapsed
      let megabytesPerSecond = Double(progress.bytesDone) / 1e6 / elapsed
      var text =
        "writing \(progress.episodesDone)/\(progress.episodesTotal) episodes · "
        + "\(String(format: "%.1f", episodesPerSecond)) episodes/s · "
        + "\(String(format: "%.1f", megabytesPerSecond)) MB/s"
      if progress.bytesTotal > 0 && progress.bytesDone > 0 {
        let remaining =
          Double(progress.bytesTotal - progress.bytesDone)
          / max(Double(progress.bytesDone) / elapsed, 1)
        text += " · ETA \(Int(max(remaining, 0).rounded()))s"
      }
      return text
    }
    if let line { Output.standardError("\r\u{1B}[K" + line) }
  }

  /// Clears the line.
  func finish() {
    guard enabled, state.withLock({ $0.drawn }) else { return }
    Output.standardError("\r\u{1B}[K")
  }
}
