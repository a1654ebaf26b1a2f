import { OptionChecks } from '@troupe/runtime';
import type { Pool, PoolConfig } from 'pg';
import { describe, optionalInteger, optionalString } from '../checks.js';
import { StoreClosedError } from '../errors.js';
import { checkSnapshot, type SnapshotSelectionCriteria, snapshotBounds } from '../snapshot-criteria.js';
import type {
  EventRecord,
  JournalEntry,
  JournalQuery,
  PersistenceStore,
  SnapshotToSave,
  StoredSnapshot,
  StoredState,
  Write,
  WriteResult,
} from '../store.js';
import { AppendListeners } from './append-listeners.js';
import { batchIds, planBatch } from './postgres-batch.js';
import { PostgresCalls } from './postgres-calls.js';
import { migratePostgres } from './postgres-schema.js';

/** Where {@link postgresStore} keeps its data. */
export interface PostgresStoreOptions {
  /** E.g. `postgres://user:password@host:5432/db`; the `PG*` environment variables otherwise. */
  readonly connectionString?: string;
  /**
   * Further settings for `pg`'s `Pool` (its `PoolConfig`: `host`, `ssl`, timeouts…), passed as
   * they are; `connectionString` and `maxConnections` override theirs. Typed loosely so that
   * using this package does not require `@types/pg`. This store's defaults, which these
   * override: `keepAlive: true`, `connectionTimeoutMillis: 10000` (a server that cannot be
   * reached fails a call within 10 s instead of leaving it waiting).
   */
  readonly pool?: Readonly<Record<string, unknown>>;
  /**
   * The schema holding the `troupe_` tables (created if missing): one per application or
   * tenant. Default `'public'`. Must be a plain identifier (`/^[A-Za-z_][A-Za-z0-9_]*$/`).
   */
  readonly schema?: string;
  /** The pool's size (pg's default is 10). A batch holds one connection for its transaction. */
  readonly maxConnections?: number;
}

/**
 * A store in PostgreSQL, on `pg`. `pg` is an optional peer dependency, loaded only when this
 * function is called (importing `@troupe/persistence` never requires it); without it this
 * rejects with "install pg (npm install pg) to use postgresStore". Creates the schema and its
 * tables if they do not exist, migrates a schema made by an earlier version of this package,
 * then resolves. Bad options reject (`TypeError`/`RangeError`, all of them at once as an
 * `InvalidOptionsError`).
 *
 * - Each `write` batch is **one transaction** on one connection: all of it is committed
 *   (durable as the server's `synchronous_commit` says, by default on disk) when the promise
 *   resolves, or none of it if it rejects.
 * - Write transactions on the same schema, from any number of store objects and processes,
 *   are serialized by a transaction-level advisory lock taken first: each write's expected
 *   sequence or revision is checked against committed data, so of two writers with the same
 *   expectation exactly one wins and the other gets `{ ok: false, actual }`; and journal
 *   offsets become visible in commit order, so a projection reading after its last offset
 *   never skips an event committed later with a lower offset.
 * - Reads run on the pool and see committed data only.
 * - **A connection that dies** (backend terminated, server restarted or down, network cut)
 *   never crashes the process: the calls using it reject with a `StoreUnavailableError`
 *   (reason `connection`); its `mayHaveCommitted` is true only when the connection died after
 *   a commit was sent and before its answer arrived. The dead connection is discarded and the
 *   pool opens fresh ones for later calls, so the store recovers once the server answers.
 * - `onAppend` listeners hear of this object's commits only; others are seen by polling.
 * - `close()` waits for the calls in flight, then ends the pool.
 */
export async function postgresStore(options: PostgresStoreOptions = {}): Promise<PersistenceStore> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`postgresStore: options must be an object; got ${describe(options)}`);
  }
  const checks = new OptionChecks('postgresStore');
  const schema = checks.run(() => schemaName(options.schema), 'public');
  checks.run(() => optionalString('postgresStore', 'connectionString', options.connectionString), undefined);
  checks.run(() => optionalInteger('postgresStore', 'maxConnections', options.maxConnections, 1, 10), 10);
  checks.run(() => {
    if (options.pool !== undefined && (options.pool === null || typeof options.pool !== 'object')) {
      throw new TypeError(
        `postgresStore: pool must be an object of pg Pool settings; got ${describe(options.pool)}`,
      );
    }
  }, undefined);
  checks.done();
  let PoolClass: typeof Pool;
  try {
    PoolClass = (await import('pg')).Pool;
  } catch (cause) {
    throw new Error('install pg (npm install pg) to use postgresStore', { cause });
  }
  const config: PoolConfig = {
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
    ...(options.pool as PoolConfig | undefined),
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
    ...(options.maxConnections !== undefined && { max: options.maxConnections }),
  };
  const pool = new PoolClass(config);
  // An idle connection that the server drops emits here; the pool discards it and the next
  // call gets a fresh one. Without a listener it would crash the process.
  pool.on('error', () => {});
  const store = new PostgresStore(pool, schema);
  try {
    await store.init();
  } catch (error) {
    await pool.end();
    throw error;
  }
  return store;
}

function schemaName(schema: unknown): string {
  if (schema === undefined) return 'public';
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
    throw new TypeError(
      `postgresStore: schema must match /^[A-Za-z_][A-Za-z0-9_]*$/, got ${typeof schema === 'string' ? JSON.stringify(schema) : describe(schema)}`,
    );
  }
  return schema;
}

interface EventRow {
  readonly persistence_id: string;
  readonly seq: string;
  readonly payload: string;
  readonly tags: string[];
  readonly timestamp: string;
}

interface JournalRow extends EventRow {
  readonly offset: string;
}

class PostgresStore implements PersistenceStore {
  readonly name: string;
  private readonly listeners = new AppendListeners();
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly calls: PostgresCalls;
  private readonly events: string;
  private readonly ids: string;
  private readonly snapshots: string;
  private readonly states: string;
  private readonly checkpoints: string;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {
    this.name = `postgres:${schema}`;
    this.calls = new PostgresCalls(pool, this.name, schema);
    const q = `"${schema}"`;
    this.events = `${q}.troupe_events`;
    this.ids = `${q}.troupe_ids`;
    this.snapshots = `${q}.troupe_snapshots`;
    this.states = `${q}.troupe_states`;
    this.checkpoints = `${q}.troupe_checkpoints`;
  }

  /** Creates or migrates the schema; under the lock, so two stores starting together do not collide. */
  async init(): Promise<void> {
    await this.calls.transaction((client) => migratePostgres(client, this.schema, this.name));
  }

  write(writes: readonly Write[]): Promise<WriteResult[]> {
    return this.run(async () => {
      if (writes.length === 0) return [];
      let appended = false;
      const results = await this.calls.transaction(async (client) => {
        const { eventIds, stateIds } = batchIds(writes);
        const highest = new Map<string, number>();
        const revisions = new Map<string, number>();
        if (eventIds.length > 0) {
          const { rows } = await client.query<{ persistence_id: string; highest_seq: string }>(
            `SELECT persistence_id, highest_seq FROM ${this.ids} WHERE persistence_id = ANY($1::text[]) FOR UPDATE`,
            [eventIds],
          );
          for (const row of rows) highest.set(row.persistence_id, Number(row.highest_seq));
        }
        if (stateIds.length > 0) {
          const { rows } = await client.query<{ persistence_id: string; revision: string }>(
            `SELECT persistence_id, revision FROM ${this.states} WHERE persistence_id = ANY($1::text[]) FOR UPDATE`,
            [stateIds],
          );
          for (const row of rows) revisions.set(row.persistence_id, Number(row.revision));
        }
        const plan = planBatch(writes, highest, revisions, Date.now());
        const { events } = plan;
        if (events.pids.length > 0) {
          await client.query(
            `INSERT INTO ${this.events} (persistence_id, seq, payload, tags, timestamp)
             SELECT u.pid, u.seq, u.payload, ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), u.ts
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
               WITH ORDINALITY AS u(pid, seq, payload, tags, ts, ord)
             ORDER BY u.ord`,
            [events.pids, events.seqs, events.payloads, events.tags, events.timestamps],
          );
          await client.query(
            `INSERT INTO ${this.ids} (persistence_id, highest_seq)
             SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (persistence_id) DO UPDATE SET highest_seq = EXCLUDED.highest_seq`,
            [[...plan.highest.keys()], [...plan.highest.values()]],
          );
          appended = true;
        }
        if (plan.states.size > 0) {
          const states = [...plan.states.values()];
          await client.query(
            `INSERT INTO ${this.states} (persistence_id, revision, payload, deleted)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[])
             ON CONFLICT (persistence_id) DO UPDATE
             SET revision = EXCLUDED.revision, payload = EXCLUDED.payload, deleted = EXCLUDED.deleted`,
            [
              [...plan.states.keys()],
              states.map((s) => s.revision),
              states.map((s) => s.payload),
              states.map((s) => s.deleted),
            ],
          );
        }
        return plan.results;
      });
      if (appended) this.listeners.notify();
      return results;
    });
  }

  readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]> {
    return this.run(async () => {
      const rows = await this.calls.read<EventRow>(
        `SELECT persistence_id, seq, payload, tags, timestamp FROM ${this.events}
         WHERE persistence_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
        [persistenceId, fromSeq, limit],
      );
      return rows.map(eventRecord);
    });
  }

  highestSeq(persistenceId: string): Promise<number> {
    return this.run(async () => {
      const rows = await this.calls.read<{ highest_seq: string }>(
        `SELECT highest_seq FROM ${this.ids} WHERE persistence_id = $1`,
        [persistenceId],
      );
      return Number(rows[0]?.highest_seq ?? 0);
    });
  }

  deleteEvents(persistenceId: string, toSeq: number): Promise<void> {
    return this.run(async () => {
      // Under the write lock, so the statement's snapshot includes every committed append (a
      // concurrent write cannot leave behind events that the new mark covers); one statement,
      // so the mark and the deletion it covers are atomic.
      await this.calls.transaction((client) =>
        client.query(
          `WITH marked AS (
           UPDATE ${this.ids} SET deleted_to = GREATEST(deleted_to, LEAST($2::bigint, highest_seq))
           WHERE persistence_id = $1 RETURNING persistence_id, deleted_to
         )
         DELETE FROM ${this.events} e USING marked
         WHERE e.persistence_id = marked.persistence_id AND e.seq <= marked.deleted_to`,
          [persistenceId, toSeq],
        ),
      );
    });
  }

  saveSnapshot(persistenceId: string, snapshot: SnapshotToSave): Promise<void> {
    return this.run(async () => {
      const timestamp = snapshot.timestamp ?? Date.now();
      checkSnapshot(snapshot.seq, timestamp, snapshot.payload, this.name);
      await this.calls.autocommit(
        `INSERT INTO ${this.snapshots} (persistence_id, seq, timestamp, payload) VALUES ($1, $2, $3, $4)
         ON CONFLICT (persistence_id, seq) DO UPDATE SET timestamp = EXCLUDED.timestamp, payload = EXCLUDED.payload`,
        [persistenceId, snapshot.seq, timestamp, snapshot.payload],
      );
    });
  }

  loadSnapshot(
    persistenceId: string,
    criteria?: SnapshotSelectionCriteria,
  ): Promise<StoredSnapshot | undefined> {
    return this.run(async () => {
      const bounds = snapshotBounds(criteria, this.name);
      if (bounds.empty) return undefined;
      const rows = await this.calls.read<{ seq: string; timestamp: string; payload: string }>(
        `SELECT seq, timestamp, payload FROM ${this.snapshots} WHERE ${SELECTED} ORDER BY seq DESC LIMIT 1`,
        [persistenceId, bounds.minSeq, bounds.maxSeq, bounds.minTs, bounds.maxTs],
      );
      const row = rows[0];
      return row === undefined
        ? undefined
        : { seq: Number(row.seq), timestamp: Number(row.timestamp), payload: row.payload };
    });
  }

  deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<number> {
    return this.run(async () => {
      const bounds = snapshotBounds(criteria, this.name);
      if (bounds.empty) return 0;
      const result = await this.calls.autocommit(`DELETE FROM ${this.snapshots} WHERE ${SELECTED}`, [
        persistenceId,
        bounds.minSeq,
        bounds.maxSeq,
        bounds.minTs,
        bounds.maxTs,
      ]);
      return result;
    });
  }

  loadState(persistenceId: string): Promise<StoredState | undefined> {
    return this.run(async () => {
      const rows = await this.calls.read<{ revision: string; payload: string; deleted: boolean }>(
        `SELECT revision, payload, deleted FROM ${this.states} WHERE persistence_id = $1`,
        [persistenceId],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      return row.deleted
        ? { revision: Number(row.revision), payload: '', deleted: true }
        : { revision: Number(row.revision), payload: row.payload };
    });
  }

  readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.run(async () => {
      // starts_with compares literally: `_` and `%` in the prefix are not wildcards.
      const rows = await this.calls.read<JournalRow>(
        `SELECT "offset", persistence_id, seq, payload, tags, timestamp FROM ${this.events}
         WHERE "offset" > $1
           AND ($3::text IS NULL OR starts_with(persistence_id, $3::text))
           AND ($4::text IS NULL OR $4::text = ANY(tags))
         ORDER BY "offset" LIMIT $2`,
        [query.afterOffset, query.limit, query.persistenceIdPrefix ?? null, query.tag ?? null],
      );
      return rows.map((row) => ({ offset: Number(row.offset), ...eventRecord(row) }));
    });
  }

  loadCheckpoint(projectionId: string): Promise<number> {
    return this.run(async () => {
      const rows = await this.calls.read<{ offset: string }>(
        `SELECT "offset" FROM ${this.checkpoints} WHERE projection_id = $1`,
        [projectionId],
      );
      return Number(rows[0]?.offset ?? 0);
    });
  }

  saveCheckpoint(projectionId: string, offset: number): Promise<void> {
    return this.run(async () => {
      await this.calls.autocommit(
        `INSERT INTO ${this.checkpoints} (projection_id, "offset") VALUES ($1, $2)
         ON CONFLICT (projection_id) DO UPDATE SET "offset" = EXCLUDED."offset"`,
        [projectionId, offset],
      );
    });
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.pending]);
      await this.pool.end();
    })();
    return this.closing;
  }

  /** Runs one call, refused once `close()` was called, and tracked so that close waits for it. */
  private run<T>(body: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(new StoreClosedError(this.name));
    const call = body();
    this.pending.add(call);
    const forget = () => this.pending.delete(call);
    call.then(forget, forget);
    return call;
  }
}

/** The snapshot selection of `$1` (persistence id) and `$2`..`$5` (bounds, null for none). */
const SELECTED = `persistence_id = $1
  AND ($2::bigint IS NULL OR seq >= $2::bigint) AND ($3::bigint IS NULL OR seq <= $3::bigint)
  AND ($4::bigint IS NULL OR timestamp >= $4::bigint) AND ($5::bigint IS NULL OR timestamp <= $5::bigint)`;

function eventRecord(row: EventRow): EventRecord {
  return {
    persistenceId: row.persistence_id,
    seq: Number(row.seq),
    payload: row.payload,
    tags: row.tags,
    timestamp: Number(row.timestamp),
  };
}
