import GRDB

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
    return migrator
  }
}
