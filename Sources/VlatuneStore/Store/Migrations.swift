import GRDB
import VlatuneSupport

/// The ordered, named, forward-only schema migrations. Append new ones; never edit a released one.
enum Migrations {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1-create-datasets") { database in
      try database.execute(
        sql: """
          CREATE TABLE datasets (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            source_path TEXT NOT NULL,
            source_format TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            episodes INTEGER NOT NULL,
            steps INTEGER NOT NULL,
            directory TEXT NOT NULL,
            document TEXT NOT NULL
          );
          CREATE INDEX datasets_created_at ON datasets(created_at);
          """)
    }
    migrator.registerMigration("v2-create-jobs") { database in
      try database.execute(
        sql: """
          CREATE TABLE jobs (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT,
            state TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            base_model TEXT NOT NULL,
            dataset_id TEXT NOT NULL,
            dataset_fingerprint TEXT NOT NULL,
            executor TEXT NOT NULL,
            actor TEXT NOT NULL,
            job_dir TEXT NOT NULL,
            spec TEXT NOT NULL,
            progress TEXT,
            loss_history TEXT,
            eval TEXT,
            error_code TEXT,
            error_message TEXT,
            exit_code INTEGER,
            signal INTEGER,
            watcher_pid INTEGER,
            watcher_start_time INTEGER,
            trainer_pid INTEGER,
            trainer_start_time INTEGER,
            queue_reason TEXT,
            cancel_requested_at TEXT,
            cancel_deadline REAL,
            cancel_reason TEXT,
            cancelled_by TEXT,
            idempotency_key TEXT,
            malformed_events INTEGER NOT NULL DEFAULT 0,
            events_offset INTEGER NOT NULL DEFAULT 0,
            gpu_slots TEXT
          );
          CREATE INDEX jobs_state ON jobs(state);
          CREATE INDEX jobs_created_at ON jobs(created_at);
          CREATE INDEX jobs_name ON jobs(name);
          CREATE TABLE job_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            actor TEXT NOT NULL,
            detail TEXT
          );
          CREATE INDEX job_events_job ON job_events(job_id, id);
          CREATE TABLE job_checkpoints (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            path TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (job_id, step)
          );
          """)
    }
    migrator.registerMigration("v3-guardrails") { database in
      try database.execute(
        sql: """
          CREATE TABLE rate_events (
            scope TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            ref TEXT NOT NULL
          );
          CREATE INDEX rate_events_scope ON rate_events(scope, at_ms);
          CREATE TABLE idempotency_keys (
            actor TEXT NOT NULL,
            key TEXT NOT NULL,
            request_sha256 TEXT NOT NULL,
            job_id TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            PRIMARY KEY (actor, key)
          );
          CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            tool TEXT NOT NULL,
            decision TEXT NOT NULL,
            code TEXT,
            args_sha256 TEXT NOT NULL,
            policy TEXT NOT NULL,
            job_id TEXT,
            message TEXT
          );
          ALTER TABLE jobs ADD COLUMN estimated_gpu_hours REAL NOT NULL DEFAULT 0;
          ALTER TABLE jobs ADD COLUMN request_sha256 TEXT;
          ALTER TABLE jobs ADD COLUMN metadata TEXT;
          CREATE INDEX jobs_actor_created ON jobs(actor, created_at);
          """)
    }
    migrator.registerMigration("v4-executor-native-id") { database in
      try database.execute(sql: "ALTER TABLE jobs ADD COLUMN native_id TEXT")
    }
    // `job list` orders by (created_at, id): with an index on created_at alone, jobs created in
    // the same millisecond were sorted in a temporary B-tree, reading every such row.
    migrator.registerMigration("v5-jobs-created-id-index") { database in
      try database.execute(
        sql: """
          CREATE INDEX jobs_created_at_id ON jobs(created_at, id);
          DROP INDEX jobs_created_at;
          """)
    }
    // What became of an allowed job start (AuditLog.settle): started, refunded, interrupted.
    migrator.registerMigration("v6-audit-outcome") { database in
      try database.execute(sql: "ALTER TABLE audit_log ADD COLUMN outcome TEXT")
    }
    // Resumed jobs (`job resume`): the attempt a job is on, each attempt's admission (what the
    // GPU-hour budget counts), and every progress and eval event (`job metrics`).
    migrator.registerMigration("v7-attempts-and-metrics") { database in
      try database.execute(
        sql: """
          ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
          CREATE TABLE job_attempts (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL,
            from_step INTEGER NOT NULL,
            max_steps INTEGER NOT NULL,
            checkpoint TEXT NOT NULL,
            previous_state TEXT NOT NULL,
            previous_row TEXT,
            estimated_gpu_hours REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, attempt)
          );
          CREATE INDEX job_attempts_actor_created ON job_attempts(actor, created_at);
          CREATE TABLE job_metrics (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            kind TEXT NOT NULL,
            step INTEGER NOT NULL,
            at REAL NOT NULL,
            data TEXT NOT NULL
          );
          CREATE INDEX job_metrics_job ON job_metrics(job_id, kind, step);
          """)
    }
    // Evaluation jobs (`job eval`): what a job is (`train` or `eval`) and, for an evaluation,
    // the job whose adapter it evaluates (`job status` of that job shows its latest one).
    migrator.registerMigration("v8-evaluation-jobs") { database in
      try database.execute(
        sql: """
          ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'train';
          ALTER TABLE jobs ADD COLUMN source_job TEXT;
          CREATE INDEX jobs_source_job ON jobs(source_job) WHERE source_job IS NOT NULL;
          """)
    }
    return migrator
  }
}
