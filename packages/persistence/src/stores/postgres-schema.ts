/**
 * The PostgreSQL store's tables in one schema, and the migrations that bring a schema made by
 * any earlier version of this package to the current one. The version is kept in
 * `troupe_schema_version` (absent in a schema made before versions were kept, which then holds
 * the version-1 tables). All pending steps run in the caller's transaction, under the schema's
 * write lock, so a schema is never half migrated and two stores opening it at once do not
 * collide: the second finds it migrated.
 */
import type { PoolClient } from 'pg';

/** Each step, from version n to n+1, given the quoted schema name. */
const MIGRATIONS: readonly ((q: string) => string)[] = [
  // 1: the first schema (one snapshot per persistence id). IF NOT EXISTS: a schema made by the
  // code before versions were kept has these tables already.
  (q) => `
    CREATE TABLE IF NOT EXISTS ${q}.troupe_events (
      "offset" BIGSERIAL PRIMARY KEY,
      persistence_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      payload TEXT NOT NULL,
      tags TEXT[] NOT NULL,
      timestamp BIGINT NOT NULL,
      UNIQUE (persistence_id, seq)
    );
    CREATE TABLE IF NOT EXISTS ${q}.troupe_ids (
      persistence_id TEXT PRIMARY KEY,
      highest_seq BIGINT NOT NULL,
      deleted_to BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS ${q}.troupe_snapshots (
      persistence_id TEXT PRIMARY KEY,
      seq BIGINT NOT NULL,
      payload TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${q}.troupe_states (
      persistence_id TEXT PRIMARY KEY,
      revision BIGINT NOT NULL,
      payload TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${q}.troupe_checkpoints (
      projection_id TEXT PRIMARY KEY,
      "offset" BIGINT NOT NULL
    );`,
  // 2: several snapshots per persistence id, each with its timestamp (0 for the migrated ones:
  // when they were taken is unknown).
  (q) => `
    ALTER TABLE ${q}.troupe_snapshots ADD COLUMN timestamp BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE ${q}.troupe_snapshots ALTER COLUMN timestamp DROP DEFAULT;
    ALTER TABLE ${q}.troupe_snapshots DROP CONSTRAINT troupe_snapshots_pkey;
    ALTER TABLE ${q}.troupe_snapshots ADD PRIMARY KEY (persistence_id, seq);`,
  // 3: durable state can be deleted: a tombstone keeps the revision going.
  (q) => `ALTER TABLE ${q}.troupe_states ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;`,
];

/** The schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates `schema` if needed and brings it to {@link POSTGRES_SCHEMA_VERSION}, inside the
 * caller's transaction (which holds the schema's write lock). Refuses a schema from a newer
 * version of this package.
 */
export async function migratePostgres(client: PoolClient, schema: string, name: string): Promise<void> {
  const q = `"${schema}"`;
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${q}.troupe_schema_version (version INTEGER NOT NULL)`);
  const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${q}.troupe_schema_version`);
  const from = rows[0]?.version ?? 0;
  if (from > POSTGRES_SCHEMA_VERSION) {
    throw new Error(
      `${name}: the schema has version ${from}, newer than this version of @troupe/persistence knows (${POSTGRES_SCHEMA_VERSION}); upgrade the package`,
    );
  }
  if (from === POSTGRES_SCHEMA_VERSION) return;
  for (let v = from; v < POSTGRES_SCHEMA_VERSION; v++) {
    await client.query((MIGRATIONS[v] as (q: string) => string)(q));
  }
  if (rows.length === 0) {
    await client.query(`INSERT INTO ${q}.troupe_schema_version (version) VALUES ($1)`, [
      POSTGRES_SCHEMA_VERSION,
    ]);
  } else {
    await client.query(`UPDATE ${q}.troupe_schema_version SET version = $1`, [POSTGRES_SCHEMA_VERSION]);
  }
}
