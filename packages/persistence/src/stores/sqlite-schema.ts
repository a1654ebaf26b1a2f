/**
 * The SQLite store's tables, and the migrations that bring a database made by any earlier
 * version of this package to the current schema. The version is SQLite's `user_version`
 * (0 in a database made before versions were kept, which then holds the version-1 tables).
 * Each migration is a step from one version to the next; all pending steps run in one
 * `BEGIN IMMEDIATE` transaction, so a database is never half migrated, and of two processes
 * opening an old file at once, the second finds it migrated.
 */
import type Database from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  // 1: the first schema (one snapshot per persistence id). IF NOT EXISTS: a database made by the
  // code before versions were kept has these tables already, at user_version 0.
  `CREATE TABLE IF NOT EXISTS troupe_events (
     "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
     persistence_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     payload TEXT NOT NULL,
     tags TEXT NOT NULL,
     timestamp INTEGER NOT NULL,
     UNIQUE (persistence_id, seq)
   );
   CREATE TABLE IF NOT EXISTS troupe_ids (
     persistence_id TEXT PRIMARY KEY,
     highest_seq INTEGER NOT NULL,
     deleted_to INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS troupe_snapshots (
     persistence_id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS troupe_states (
     persistence_id TEXT PRIMARY KEY,
     revision INTEGER NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS troupe_checkpoints (
     projection_id TEXT PRIMARY KEY,
     "offset" INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 2: several snapshots per persistence id, each with its timestamp (0 for the migrated ones:
  // when they were taken is unknown).
  `CREATE TABLE troupe_snapshots_v2 (
     persistence_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     timestamp INTEGER NOT NULL,
     payload TEXT NOT NULL,
     PRIMARY KEY (persistence_id, seq)
   );
   INSERT INTO troupe_snapshots_v2 (persistence_id, seq, timestamp, payload)
     SELECT persistence_id, seq, 0, payload FROM troupe_snapshots;
   DROP TABLE troupe_snapshots;
   ALTER TABLE troupe_snapshots_v2 RENAME TO troupe_snapshots;`,
  // 3: durable state can be deleted: a tombstone keeps the revision going.
  `ALTER TABLE troupe_states ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;`,
];

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` to {@link SQLITE_SCHEMA_VERSION}. Cheap when it is there already (one pragma
 * read, no lock). Refuses a database from a newer version of this package.
 */
export function migrateSqlite(db: Database.Database, name: string): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = version(); // again, under the write lock: another process may have migrated it
    if (from > SQLITE_SCHEMA_VERSION) {
      throw new Error(
        `${name}: the database has schema version ${from}, newer than this version of @troupe/persistence knows (${SQLITE_SCHEMA_VERSION}); upgrade the package`,
      );
    }
    for (let v = from; v < SQLITE_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}
