import type { Pool, PoolClient, PoolConfig } from 'pg';
import { StoreClosedError } from '../errors.js';
import type {
  EventRecord,
  JournalEntry,
  JournalQuery,
  PersistenceStore,
  StoredSnapshot,
  StoredState,
  Write,
  WriteResult,
} from '../store.js';
import { AppendListeners } from './append-listeners.js';

/** Where {@link postgresStore} keeps its data. */
export interface PostgresStoreOptions {
  /** E.g. `postgres://user:password@host:5432/db`; the `PG*` environment variables otherwise. */
  readonly connectionString?: string;
  /**
   * Further settings for `pg`'s `Pool` (its `PoolConfig`: `host`, `ssl`, timeouts…), passed as
   * they are; `connectionString` and `maxConnections` override theirs. Typed loosely so that
   * using this package does not require `@types/pg`.
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
 * tables if they do not exist, then resolves.
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
 * - `onAppend` listeners hear of this object's commits only; others are seen by polling.
 * - `close()` waits for the calls in flight, then ends the pool.
 */
export async function postgresStore(options: PostgresStoreOptions = {}): Promise<PersistenceStore> {
  const schema = options.schema ?? 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
    throw new TypeError(
      `postgresStore: schema must match /^[A-Za-z_][A-Za-z0-9_]*$/, got ${JSON.stringify(schema)}`,
    );
  }
  let PoolClass: typeof Pool;
  try {
    PoolClass = (await import('pg')).Pool;
  } catch (cause) {
    throw new Error('install pg (npm install pg) to use postgresStore', { cause });
  }
  const config: PoolConfig = {
    ...(options.pool as PoolConfig | undefined),
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
    ...(options.maxConnections !== undefined && { max: options.maxConnections }),
  };
  const pool = new PoolClass(config);
  // An idle connection that the server drops emits here; the next query gets a fresh one, and
  // a query in flight rejects on its own. Without a listener it would crash the process.
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

/** The advisory lock's first key: "trou". The second is derived from the schema. */
const LOCK_NAMESPACE = 0x74726f75;

/** FNV-1a of the schema name, as a signed 32-bit integer. */
function lockKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    hash ^= schema.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
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
  private readonly lock: number;
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
    this.lock = lockKey(schema);
    const q = `"${schema}"`;
    this.events = `${q}.troupe_events`;
    this.ids = `${q}.troupe_ids`;
    this.snapshots = `${q}.troupe_snapshots`;
    this.states = `${q}.troupe_states`;
    this.checkpoints = `${q}.troupe_checkpoints`;
  }

  /** Creates the schema and tables; under the lock, so two stores starting together do not collide. */
  async init(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${this.events} (
          "offset" BIGSERIAL PRIMARY KEY,
          persistence_id TEXT NOT NULL,
          seq BIGINT NOT NULL,
          payload TEXT NOT NULL,
          tags TEXT[] NOT NULL,
          timestamp BIGINT NOT NULL,
          UNIQUE (persistence_id, seq)
        );
        CREATE TABLE IF NOT EXISTS ${this.ids} (
          persistence_id TEXT PRIMARY KEY,
          highest_seq BIGINT NOT NULL,
          deleted_to BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS ${this.snapshots} (
          persistence_id TEXT PRIMARY KEY,
          seq BIGINT NOT NULL,
          payload TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ${this.states} (
          persistence_id TEXT PRIMARY KEY,
          revision BIGINT NOT NULL,
          payload TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ${this.checkpoints} (
          projection_id TEXT PRIMARY KEY,
          "offset" BIGINT NOT NULL
        );`);
    });
  }

  write(writes: readonly Write[]): Promise<WriteResult[]> {
    return this.run(async () => {
      if (writes.length === 0) return [];
      let appended = false;
      const results = await this.transaction(async (client) => {
        const eventIds = [...new Set(writes.filter((w) => w.kind === 'events').map((w) => w.persistenceId))];
        const stateIds = [...new Set(writes.filter((w) => w.kind === 'state').map((w) => w.persistenceId))];
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
        // Decide each write in batch order against the committed values plus the batch's
        // earlier accepted writes, then store everything accepted in a few statements.
        const results: WriteResult[] = [];
        const pids: string[] = [];
        const seqs: number[] = [];
        const payloads: string[] = [];
        const tags: string[] = [];
        const timestamps: number[] = [];
        const newHighest = new Map<string, number>();
        const newStates = new Map<string, StoredState>();
        for (const write of writes) {
          if (write.kind === 'events') {
            const current = highest.get(write.persistenceId) ?? 0;
            if (current !== write.expectedSeq) {
              results.push({ ok: false, actual: current });
              continue;
            }
            const timestamp = Date.now();
            let seq = current;
            for (const event of write.events) {
              seq++;
              pids.push(write.persistenceId);
              seqs.push(seq);
              payloads.push(event.payload);
              tags.push(JSON.stringify(event.tags ?? []));
              timestamps.push(timestamp);
            }
            if (seq !== current) {
              highest.set(write.persistenceId, seq);
              newHighest.set(write.persistenceId, seq);
            }
          } else {
            const current = revisions.get(write.persistenceId) ?? 0;
            if (current !== write.expectedRevision) {
              results.push({ ok: false, actual: current });
              continue;
            }
            revisions.set(write.persistenceId, current + 1);
            newStates.set(write.persistenceId, { revision: current + 1, payload: write.payload });
          }
          results.push({ ok: true });
        }
        if (pids.length > 0) {
          await client.query(
            `INSERT INTO ${this.events} (persistence_id, seq, payload, tags, timestamp)
             SELECT u.pid, u.seq, u.payload, ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), u.ts
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
               WITH ORDINALITY AS u(pid, seq, payload, tags, ts, ord)
             ORDER BY u.ord`,
            [pids, seqs, payloads, tags, timestamps],
          );
          await client.query(
            `INSERT INTO ${this.ids} (persistence_id, highest_seq)
             SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (persistence_id) DO UPDATE SET highest_seq = EXCLUDED.highest_seq`,
            [[...newHighest.keys()], [...newHighest.values()]],
          );
          appended = true;
        }
        if (newStates.size > 0) {
          const states = [...newStates.values()];
          await client.query(
            `INSERT INTO ${this.states} (persistence_id, revision, payload)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT (persistence_id) DO UPDATE SET revision = EXCLUDED.revision, payload = EXCLUDED.payload`,
            [[...newStates.keys()], states.map((s) => s.revision), states.map((s) => s.payload)],
          );
        }
        return results;
      });
      if (appended) this.listeners.notify();
      return results;
    });
  }

  readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]> {
    return this.run(async () => {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT persistence_id, seq, payload, tags, timestamp FROM ${this.events}
         WHERE persistence_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
        [persistenceId, fromSeq, limit],
      );
      return rows.map(eventRecord);
    });
  }

  highestSeq(persistenceId: string): Promise<number> {
    return this.run(async () => {
      const { rows } = await this.pool.query<{ highest_seq: string }>(
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
      await this.transaction((client) =>
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

  saveSnapshot(persistenceId: string, snapshot: StoredSnapshot): Promise<void> {
    return this.run(async () => {
      await this.pool.query(
        `INSERT INTO ${this.snapshots} (persistence_id, seq, payload) VALUES ($1, $2, $3)
         ON CONFLICT (persistence_id) DO UPDATE SET seq = EXCLUDED.seq, payload = EXCLUDED.payload
         WHERE ${this.snapshots}.seq <= EXCLUDED.seq`,
        [persistenceId, snapshot.seq, snapshot.payload],
      );
    });
  }

  loadSnapshot(persistenceId: string): Promise<StoredSnapshot | undefined> {
    return this.run(async () => {
      const { rows } = await this.pool.query<{ seq: string; payload: string }>(
        `SELECT seq, payload FROM ${this.snapshots} WHERE persistence_id = $1`,
        [persistenceId],
      );
      const row = rows[0];
      return row === undefined ? undefined : { seq: Number(row.seq), payload: row.payload };
    });
  }

  loadState(persistenceId: string): Promise<StoredState | undefined> {
    return this.run(async () => {
      const { rows } = await this.pool.query<{ revision: string; payload: string }>(
        `SELECT revision, payload FROM ${this.states} WHERE persistence_id = $1`,
        [persistenceId],
      );
      const row = rows[0];
      return row === undefined ? undefined : { revision: Number(row.revision), payload: row.payload };
    });
  }

  readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.run(async () => {
      // starts_with compares literally: `_` and `%` in the prefix are not wildcards.
      const { rows } = await this.pool.query<JournalRow>(
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
      const { rows } = await this.pool.query<{ offset: string }>(
        `SELECT "offset" FROM ${this.checkpoints} WHERE projection_id = $1`,
        [projectionId],
      );
      return Number(rows[0]?.offset ?? 0);
    });
  }

  saveCheckpoint(projectionId: string, offset: number): Promise<void> {
    return this.run(async () => {
      await this.pool.query(
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

  /** BEGIN, the schema's write lock, `body`, COMMIT; ROLLBACK on any error; the client always released. */
  private async transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, this.lock]);
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: destroy it rather than return it to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

function eventRecord(row: EventRow): EventRecord {
  return {
    persistenceId: row.persistence_id,
    seq: Number(row.seq),
    payload: row.payload,
    tags: row.tags,
    timestamp: Number(row.timestamp),
  };
}
