import Database from 'better-sqlite3';
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
}

/**
 * A store in one SQLite file, on better-sqlite3: the embedded default. Opens synchronously and
 * creates its tables (prefixed `troupe_`) if they do not exist.
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
 * - `onAppend` listeners hear of this object's commits only; others are seen by polling.
 */
export function sqliteStore(options: SqliteStoreOptions): PersistenceStore {
  return new SqliteStore(options);
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS troupe_events (
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
) WITHOUT ROWID;
`;

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
  private readonly upsertSnapshot: Database.Statement<[string, number, string]>;
  private readonly selectSnapshot: Database.Statement<[string], StoredSnapshot>;
  private readonly selectState: Database.Statement<[string], StoredState>;
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

  constructor(options: SqliteStoreOptions) {
    this.name = `sqlite:${options.path}`;
    const db = new Database(options.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw error;
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
      `INSERT INTO troupe_states (persistence_id, revision, payload) VALUES (?, ?, ?)
       ON CONFLICT (persistence_id) DO UPDATE SET revision = excluded.revision, payload = excluded.payload`,
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
      `INSERT INTO troupe_snapshots (persistence_id, seq, payload) VALUES (?, ?, ?)
       ON CONFLICT (persistence_id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload
       WHERE excluded.seq >= troupe_snapshots.seq`,
    );
    this.selectSnapshot = db.prepare('SELECT seq, payload FROM troupe_snapshots WHERE persistence_id = ?');
    this.selectState = db.prepare('SELECT revision, payload FROM troupe_states WHERE persistence_id = ?');
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
    // IMMEDIATE takes the write lock first, so two connections cannot both read the same
    // highest sequence and then race to commit.
    const { results, appended } = this.writeBatch.immediate(writes);
    if (appended) this.listeners.notify();
    return results;
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
        this.upsertState.run(write.persistenceId, current + 1, write.payload);
      }
      results.push({ ok: true });
    }
    return { results, appended };
  }

  async readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]> {
    this.check();
    return this.selectEvents.all(persistenceId, fromSeq, limit).map(eventRecord);
  }

  async highestSeq(persistenceId: string): Promise<number> {
    this.check();
    return this.selectHighest.get(persistenceId)?.highest_seq ?? 0;
  }

  async deleteEvents(persistenceId: string, toSeq: number): Promise<void> {
    this.check();
    this.deleteBatch.immediate(persistenceId, toSeq);
  }

  async saveSnapshot(persistenceId: string, snapshot: StoredSnapshot): Promise<void> {
    this.check();
    this.upsertSnapshot.run(persistenceId, snapshot.seq, snapshot.payload);
  }

  async loadSnapshot(persistenceId: string): Promise<StoredSnapshot | undefined> {
    this.check();
    const row = this.selectSnapshot.get(persistenceId);
    return row === undefined ? undefined : { seq: row.seq, payload: row.payload };
  }

  async loadState(persistenceId: string): Promise<StoredState | undefined> {
    this.check();
    const row = this.selectState.get(persistenceId);
    return row === undefined ? undefined : { revision: row.revision, payload: row.payload };
  }

  async readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    this.check();
    return this.selectJournal
      .all({
        after: query.afterOffset,
        limit: query.limit,
        prefix: query.persistenceIdPrefix ?? null,
        tag: query.tag ?? null,
      })
      .map((row) => ({ offset: row.offset, ...eventRecord(row) }));
  }

  async loadCheckpoint(projectionId: string): Promise<number> {
    this.check();
    return this.selectCheckpoint.get(projectionId)?.offset ?? 0;
  }

  async saveCheckpoint(projectionId: string, offset: number): Promise<void> {
    this.check();
    this.upsertCheckpoint.run(projectionId, offset);
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
