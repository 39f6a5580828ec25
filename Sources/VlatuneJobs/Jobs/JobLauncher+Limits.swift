import Foundation
import GRDB
import VlatuneGuardrails
import VlatuneSupport

extension JobLauncher {
  /// The job caps (`max_running_jobs` + `max_queued_jobs`): a refusal (75) when as many jobs
  /// are active as the policy allows.
  static func capacityRefusal(_ database: Database, policy: Policy) throws -> VlatuneError? {
    let active =
      try Int.fetchOne(
        database,
        sql: "SELECT COUNT(*) FROM jobs WHERE state IN (\(JobState.activeSQL))") ?? 0
    let capacity = policy.limits.maxRunningJobs + policy.limits.maxQueuedJobs
    guard active >= capacity else { return nil }
    return .concurrencyLimited(
      message: "\(active) jobs are running or queued, the policy's limit "
        + "(max_running_jobs \(policy.limits.maxRunningJobs) + max_queued_jobs "
        + "\(policy.limits.maxQueuedJobs)); retry when one finishes", retryAfter: nil)
  }

  /// The daily GPU-hour budget: every start and every resumed attempt of `actor` in the last
  /// 24 h counts its estimate. A refusal (77 when one job alone exceeds the budget, else 75
  /// with the time the oldest counted estimate leaves the window).
  static func budgetRefusal(
    _ database: Database, actor: String, estimate: Double, policy: Policy, now: Date
  ) throws -> VlatuneError? {
    guard estimate > 0 else { return nil }
    let budget = policy.limits.gpuHoursPerDay
    if estimate > budget {
      return .policyDenied(
        message: "the job is estimated at \(String(format: "%.2f", estimate)) GPU-hours, more than the "
          + "daily budget of \(budget); lower max_steps or gpus")
    }
    let dayAgo = Timestamp.format(now.addingTimeInterval(-86_400))
    let rows = try Row.fetchAll(
      database,
      sql: """
        SELECT created_at, estimated_gpu_hours FROM jobs
        WHERE actor = ? AND created_at > ? AND estimated_gpu_hours > 0
        UNION ALL
        SELECT created_at, estimated_gpu_hours FROM job_attempts
        WHERE actor = ? AND created_at > ? AND estimated_gpu_hours > 0
        ORDER BY created_at
        """,
      arguments: [actor, dayAgo, actor, dayAgo])
    let total = rows.reduce(0.0) { $0 + ($1["estimated_gpu_hours"] as Double) }
    guard total + estimate > budget else { return nil }
    var used = total
    var frees = now.addingTimeInterval(86_400)
    for row in rows {
      used -= row["estimated_gpu_hours"] as Double
      if used + estimate <= budget {
        let created: String = row["created_at"]
        frees = (Timestamp.parse(created) ?? now).addingTimeInterval(86_400)
        break
      }
    }
    return .budgetExhausted(
      message: "\(actor) has started jobs estimated at \(String(format: "%.2f", total)) GPU-hours in "
        + "the last 24 h; this one needs \(String(format: "%.2f", estimate)) of the \(budget) per day",
      retryAfter: max(frees.timeIntervalSince(now), 0))
  }
}
