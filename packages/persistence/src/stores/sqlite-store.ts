import { OptionChecks } from '@troupe/runtime';
import Database from 'better-sqlite3';
import { oneOf, optionalInteger, requireString } from '../checks.js';
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
import { migrateSqlite } from './sqlite-schema.js';
import { sqliteUnavailable } from './unavailable.js';

/** Where and how durably {@link sqliteStore} keeps its data. */
export interface SqliteStoreOptions {
  /**
   * The database file (created with its tables if missing), or `':memory:'` for a private
   * in-memory database that is gone when the store closes (no WAL then).
   */
  readonly path: string;
  /**
   * SQLite's `synchronous` setting, in WAL mode:
   * - `'full'` (default): a resolved `write` has been fsynced; it survives a power loss or an
   *   operating-system crash.
   * - `'normal'`: a resolved `write` survives a crash of the process, but the last commits
   *   before a power loss or an OS crash may be lost (the database stays consistent: a batch
   *   is never half there). Faster: the WAL is fsynced only at checkpoints.
   */
  readonly synchronous?: 'full' | 'normal';
  /**
   * How long a call waits for another connection's write lock before it rejects with a
   * `StoreUnavailableError` (reason `busy`), in milliseconds (default 5000). better-sqlite3 is
   * synchronous: the wait blocks this thread, so keep it short where other work must go on.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * A store in one SQLite file, on better-sqlite3: the embedded default. Opens synchronously,
 * creates its tables (prefixed `troupe_`) if they do not exist, and migrates a file made by an
 * earlier version of this package (its schema version is the file's `user_version`). Bad
 * options throw (`TypeError`/`RangeError`, all of them at once as an `InvalidOptionsError`); a
 * file that cannot be opened or written throws a `StoreUnavailableError`.
 *
 * - The file is in WAL mode: readers never block the writer nor each other, and reads see
 *   only committed data.
 * - Each `write` batch is **one transaction** (`BEGIN IMMEDIATE`): all of it is committed when
 *   the promise resolves, or none of it if it rejects. Durability follows
 *   {@link SqliteStoreOptions.synchronous}.
 * - Several store objects, in this or other processes, may share the file: their write
 *   transactions are serialized by SQLite's write lock (a writer waits up to 5 s for it, then
 *   the batch rejects with `SQLITE_BUSY`), and each write's expected sequence or revision is
 *   checked inside the transaction, so of two writers with the same expectation exactly one
 *   wins; the other gets `{ ok: false, actual }`. Journal offsets are assigned in commit order.
 * - better-sqlite3 is synchronous: each call runs to completion on the calling thread (a
 *   batch of a few hundred events takes well under a millisecond to a few milliseconds, plus
 *   the fsync with `synchronous: 'full'`).
 * - **Failures** of the file, not of the data, reject with a `StoreUnavailableError`: `busy`
 *   (the write lock was held past `busyTimeoutMs`; nothing was written), `readOnly` (a read-only
 *   file or directory, or the file was moved or deleted while open), `diskFull`, `io` (an
 *   operating-system error; for a write it may have hit the commit, so `mayHaveCommitted`).
 *   The store object stays usable; the next call tries again.
 * - `onAppend` listeners hear of this object's commits only; others are seen by polling.
 */
export function sqliteStore(options: SqliteStoreOptions): PersistenceStore {
  const checks = new OptionChecks('sqliteStore');
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`sqliteStore: options must be an object with a path; got ${typeof options}`);
  }
  const path = checks.run(() => requireString('sqliteStore', 'path', options.path), '');
  const synchronous = checks.run(
    () => oneOf('sqliteStore', 'synchronous', options.synchronous, ['full', 'normal'] as const, 'full'),
    'full',
  );
  const busyTimeoutMs = checks.run(
    () => optionalInteger('sqliteStore', 'busyTimeoutMs', options.busyTimeoutMs, 0, 5000),
    5000,
  );
  checks.done();
  return new SqliteStore(path, synchronous, busyTimeoutMs);
}

interface EventRow {
  readonly persistence_id: string;
  readonly seq: number;
  readonly payload: string;
  readonly tags: string;
  readonly timestamp: number;
}

interface JournalRow extends EventRow {
  readonly offset: number;
}

class SqliteStore implements PersistenceStore {
  readonly name: string;
  private readonly db: Database.Database;
  private readonly listeners = new AppendListeners();
  private closed = false;

  private readonly selectHighest: Database.Statement<[string], { highest_seq: number }>;
  private readonly upsertHighest: Database.Statement<[string, number]>;
  private readonly insertEvent: Database.Statement<[string, number, string, string, number]>;
  private readonly selectRevision: Database.Statement<[string], { revision: number }>;
  private readonly upsertState: Database.Statement<[string, number, string]>;
  private readonly selectEvents: Database.Statement<[string, number, number], EventRow>;
  private readonly markDeleted: Database.Statement<[number, string], { deleted_to: number }>;
  private readonly deleteUpTo: Database.Statement<[string, number]>;
  private readonly upsertSnapshot: Database.Statement<[string, number, number, string]>;
  private readonly selectSnapshot: Database.Statement<[SnapshotParams], StoredSnapshot>;
  private readonly deleteSnapshotRows: Database.Statement<[SnapshotParams]>;
  private readonly markStateDeleted: Database.Statement<[string, number]>;
  private readonly selectState: Database.Statement<[string], StateRow>;
  private readonly selectJournal: Database.Statement<
    [{ after: number; limit: number; prefix: string | null; tag: string | null }],
    JournalRow
  >;
  private readonly selectCheckpoint: Database.Statement<[string], { offset: number }>;
  private readonly upsertCheckpoint: Database.Statement<[string, number]>;
  private readonly writeBatch: Database.Transaction<
    (writes: readonly Write[]) => { results: WriteResult[]; appended: boolean }
  >;
  private readonly deleteBatch: Database.Transaction<(persistenceId: string, toSeq: number) => void>;

  constructor(path: string, synchronous: 'full' | 'normal', busyTimeoutMs: number) {
    this.name = `sqlite:${path}`;
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (error) {
      throw sqliteUnavailable(this.name, error, false) ?? error;
    }
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      migrateSqlite(db, this.name);
    } catch (error) {
      db.close();
      throw sqliteUnavailable(this.name, error, true) ?? error;
    }
    this.db = db;
    this.selectHighest = db.prepare('SELECT highest_seq FROM troupe_ids WHERE persistence_id = ?');
    this.upsertHighest = db.prepare(
      `INSERT INTO troupe_ids (persistence_id, highest_seq) VALUES (?, ?)
       ON CONFLICT (persistence_id) DO UPDATE SET highest_seq = excluded.highest_seq`,
    );
    this.insertEvent = db.prepare(
      'INSERT INTO troupe_events (persistence_id, seq, payload, tags, timestamp) VALUES (?, ?, ?, ?, ?)',
    );
    this.selectRevision = db.prepare('SELECT revision FROM troupe_states WHERE persistence_id = ?');
    this.upsertState = db.prepare(
      `INSERT INTO troupe_states (persistence_id, revision, payload, deleted) VALUES (?, ?, ?, 0)
       ON CONFLICT (persistence_id) DO UPDATE
       SET revision = excluded.revision, payload = excluded.payload, deleted = 0`,
    );
    this.markStateDeleted = db.prepare(
      `INSERT INTO troupe_states (persistence_id, revision, payload, deleted) VALUES (?, ?, '', 1)
       ON CONFLICT (persistence_id) DO UPDATE SET revision = excluded.revision, payload = '', deleted = 1`,
    );
    this.selectEvents = db.prepare(
      `SELECT persistence_id, seq, payload, tags, timestamp FROM troupe_events
       WHERE persistence_id = ? AND seq >= ? ORDER BY seq LIMIT ?`,
    );
    this.markDeleted = db.prepare(
      `UPDATE troupe_ids SET deleted_to = max(deleted_to, min(?, highest_seq))
       WHERE persistence_id = ? RETURNING deleted_to`,
    );
    this.deleteUpTo = db.prepare('DELETE FROM troupe_events WHERE persistence_id = ? AND seq <= ?');
    this.upsertSnapshot = db.prepare(
      `INSERT INTO troupe_snapshots (persistence_id, seq, timestamp, payload) VALUES (?, ?, ?, ?)
       ON CONFLICT (persistence_id, seq) DO UPDATE SET timestamp = excluded.timestamp, payload = excluded.payload`,
    );
    const selected = `persistence_id = @pid
       AND (@minSeq IS NULL OR seq >= @minSeq) AND (@maxSeq IS NULL OR seq <= @maxSeq)
       AND (@minTs IS NULL OR timestamp >= @minTs) AND (@maxTs IS NULL OR timestamp <= @maxTs)`;
    this.selectSnapshot = db.prepare(
      `SELECT seq, timestamp, payload FROM troupe_snapshots WHERE ${selected} ORDER BY seq DESC LIMIT 1`,
    );
    this.deleteSnapshotRows = db.prepare(`DELETE FROM troupe_snapshots WHERE ${selected}`);
    this.selectState = db.prepare(
      'SELECT revision, payload, deleted FROM troupe_states WHERE persistence_id = ?',
    );
    // The prefix is compared with substr, not LIKE: `_` and `%` in it are literal.
    this.selectJournal = db.prepare(
      `SELECT "offset", persistence_id, seq, payload, tags, timestamp FROM troupe_events
       WHERE "offset" > @after
         AND (@prefix IS NULL OR substr(persistence_id, 1, length(@prefix)) = @prefix)
         AND (@tag IS NULL OR EXISTS (SELECT 1 FROM json_each(tags) WHERE value = @tag))
       ORDER BY "offset" LIMIT @limit`,
    );
    this.selectCheckpoint = db.prepare('SELECT "offset" FROM troupe_checkpoints WHERE projection_id = ?');
    this.upsertCheckpoint = db.prepare(
      `INSERT INTO troupe_checkpoints (projection_id, "offset") VALUES (?, ?)
       ON CONFLICT (projection_id) DO UPDATE SET "offset" = excluded."offset"`,
    );
    this.writeBatch = db.transaction((writes: readonly Write[]) => this.apply(writes));
    this.deleteBatch = db.transaction((persistenceId: string, toSeq: number) => {
      const row = this.markDeleted.get(toSeq, persistenceId);
      if (row !== undefined) this.deleteUpTo.run(persistenceId, row.deleted_to);
    });
  }

  async write(writes: readonly Write[]): Promise<WriteResult[]> {
    this.check();
    if (writes.length === 0) return [];
    let outcome: { results: WriteResult[]; appended: boolean };
    try {
      // IMMEDIATE takes the write lock first, so two connections cannot both read the same
      // highest sequence and then race to commit.
      outcome = this.writeBatch.immediate(writes);
    } catch (error) {
      throw sqliteUnavailable(this.name, error, true) ?? error;
    }
    if (outcome.appended) this.listeners.notify();
    return outcome.results;
  }

  /** The body of a write transaction: each write decided on its own, in batch order. */
  private apply(writes: readonly Write[]): { results: WriteResult[]; appended: boolean } {
    const results: WriteResult[] = [];
    let appended = false;
    for (const write of writes) {
      if (write.kind === 'events') {
        const current = this.selectHighest.get(write.persistenceId)?.highest_seq ?? 0;
        if (current !== write.expectedSeq) {
          results.push({ ok: false, actual: current });
          continue;
        }
        if (write.events.length > 0) {
          const timestamp = Date.now();
          let seq = current;
          for (const event of write.events) {
            seq++;
            this.insertEvent.run(
              write.persistenceId,
              seq,
              event.payload,
              JSON.stringify(event.tags ?? []),
              timestamp,
            );
          }
          this.upsertHighest.run(write.persistenceId, seq);
          appended = true;
        }
      } else {
        const current = this.selectRevision.get(write.persistenceId)?.revision ?? 0;
        if (current !== write.expectedRevision) {
          results.push({ ok: false, actual: current });
          continue;
        }
        if (write.kind === 'state') this.upsertState.run(write.persistenceId, current + 1, write.payload);
        else this.markStateDeleted.run(write.persistenceId, current + 1);
      }
      results.push({ ok: true });
    }
    return { results, appended };
  }

  async readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]> {
    return this.read(() => this.selectEvents.all(persistenceId, fromSeq, limit).map(eventRecord));
  }

  async highestSeq(persistenceId: string): Promise<number> {
    return this.read(() => this.selectHighest.get(persistenceId)?.highest_seq ?? 0);
  }

  async deleteEvents(persistenceId: string, toSeq: number): Promise<void> {
    this.mutate(() => this.deleteBatch.immediate(persistenceId, toSeq));
  }

  async saveSnapshot(persistenceId: string, snapshot: SnapshotToSave): Promise<void> {
    this.check();
    const timestamp = snapshot.timestamp ?? Date.now();
    checkSnapshot(snapshot.seq, timestamp, snapshot.payload, this.name);
    this.mutate(() => this.upsertSnapshot.run(persistenceId, snapshot.seq, timestamp, snapshot.payload));
  }

  async loadSnapshot(
    persistenceId: string,
    criteria?: SnapshotSelectionCriteria,
  ): Promise<StoredSnapshot | undefined> {
    this.check();
    const params = snapshotParams(persistenceId, criteria, this.name);
    if (params === undefined) return undefined;
    const row = this.read(() => this.selectSnapshot.get(params));
    return row === undefined ? undefined : { seq: row.seq, timestamp: row.timestamp, payload: row.payload };
  }

  async deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<number> {
    this.check();
    const params = snapshotParams(persistenceId, criteria, this.name);
    if (params === undefined) return 0;
    return this.mutate(() => this.deleteSnapshotRows.run(params).changes);
  }

  async loadState(persistenceId: string): Promise<StoredState | undefined> {
    const row = this.read(() => this.selectState.get(persistenceId));
    if (row === undefined) return undefined;
    return row.deleted === 1
      ? { revision: row.revision, payload: '', deleted: true }
      : { revision: row.revision, payload: row.payload };
  }

  async readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.read(() =>
      this.selectJournal
        .all({
          after: query.afterOffset,
          limit: query.limit,
          prefix: query.persistenceIdPrefix ?? null,
          tag: query.tag ?? null,
        })
        .map((row) => ({ offset: row.offset, ...eventRecord(row) })),
    );
  }

  async loadCheckpoint(projectionId: string): Promise<number> {
    return this.read(() => this.selectCheckpoint.get(projectionId)?.offset ?? 0);
  }

  async saveCheckpoint(projectionId: string, offset: number): Promise<void> {
    this.mutate(() => this.upsertCheckpoint.run(projectionId, offset));
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    // Every call runs to completion synchronously, so nothing is pending here.
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.name);
  }

  /** A read on the open store; a failure of the file is a `StoreUnavailableError`. */
  private read<T>(body: () => T): T {
    this.check();
    try {
      return body();
    } catch (error) {
      throw sqliteUnavailable(this.name, error, false) ?? error;
    }
  }

  /** A write outside the batch path (snapshots, checkpoints, deletions), classified the same way. */
  private mutate<T>(body: () => T): T {
    this.check();
    try {
      return body();
    } catch (error) {
      throw sqliteUnavailable(this.name, error, true) ?? error;
    }
  }
}

interface StateRow {
  readonly revision: number;
  readonly payload: string;
  readonly deleted: number;
}

interface SnapshotParams {
  readonly pid: string;
  readonly minSeq: number | null;
  readonly maxSeq: number | null;
  readonly minTs: number | null;
  readonly maxTs: number | null;
}

/** The statement parameters for `criteria`, or undefined when they select nothing. */
function snapshotParams(
  pid: string,
  criteria: SnapshotSelectionCriteria | undefined,
  owner: string,
): SnapshotParams | undefined {
  const bounds = snapshotBounds(criteria, owner);
  if (bounds.empty) return undefined;
  return { pid, minSeq: bounds.minSeq, maxSeq: bounds.maxSeq, minTs: bounds.minTs, maxTs: bounds.maxTs };
}

function eventRecord(row: EventRow): EventRecord {
  const tags: string[] = JSON.parse(row.tags);
  return {
    persistenceId: row.persistence_id,
    seq: row.seq,
    payload: row.payload,
    tags,
    timestamp: row.timestamp,
  };
}
