/**
 * The store contract every backend implements (memory, SQLite, PostgreSQL), and that one
 * conformance suite checks (`test/store-conformance.ts`). Payloads are opaque strings (the
 * behaviours encode them as JSON); sequence numbers start at 1 per persistence id; revisions of
 * durable state start at 1.
 */
import type { SnapshotSelectionCriteria } from './snapshot-criteria.js';

/** One event as stored for a persistence id. */
export interface EventRecord {
  readonly persistenceId: string;
  /** 1, 2, 3… per persistence id, without gaps. */
  readonly seq: number;
  readonly payload: string;
  readonly tags: readonly string[];
  /** Wall-clock milliseconds when it was written. */
  readonly timestamp: number;
}

/** An event in the store's global journal, as projections read it. */
export interface JournalEntry extends EventRecord {
  /** Position in the whole journal: strictly increasing in commit order, never reused. */
  readonly offset: number;
}

/** An event to append. */
export interface NewEvent {
  readonly payload: string;
  readonly tags?: readonly string[];
}

/**
 * One write of a batch. Each carries what the writer believes is current (optimistic
 * concurrency): the highest sequence number of the persistence id, or the revision of its
 * durable state (0 when there is none yet).
 *
 * - `events`: appends `events` after `expectedSeq`.
 * - `state`: stores `payload` as the durable state at revision `expectedRevision + 1`.
 * - `deleteState`: deletes the durable state. **The revision continues**: the delete is itself
 *   revision `expectedRevision + 1` (a tombstone, {@link StoredState.deleted}), so a writer that
 *   still expects an older revision is refused, and the next write expects the delete's revision.
 */
export type Write =
  | {
      readonly kind: 'events';
      readonly persistenceId: string;
      readonly expectedSeq: number;
      readonly events: readonly NewEvent[];
    }
  | {
      readonly kind: 'state';
      readonly persistenceId: string;
      readonly expectedRevision: number;
      readonly payload: string;
    }
  | {
      readonly kind: 'deleteState';
      readonly persistenceId: string;
      readonly expectedRevision: number;
    };

/** The outcome of one write: stored, or refused because another writer got there first. */
export type WriteResult = { readonly ok: true } | { readonly ok: false; readonly actual: number };

/** A snapshot of an event-sourced actor: its state after event `seq`, taken at `timestamp`. */
export interface StoredSnapshot {
  readonly seq: number;
  /**
   * When it was taken, in milliseconds since the epoch (as given to `saveSnapshot`). Snapshots
   * migrated from a store schema older than several snapshots per id have 0 (unknown).
   */
  readonly timestamp: number;
  readonly payload: string;
}

/** A snapshot to save; `timestamp` defaults to the store's clock (`Date.now()`). */
export interface SnapshotToSave {
  readonly seq: number;
  readonly payload: string;
  readonly timestamp?: number;
}

/**
 * The durable state of a persistence id at `revision`. After a `deleteState` write the state is
 * a tombstone: `deleted` is true, `payload` is `''`, and `revision` is the delete's revision (a
 * later write expects it: the revision continues across a delete, it never goes back to 0).
 */
export interface StoredState {
  readonly revision: number;
  readonly payload: string;
  /** Present (true) only when the last write deleted the state. */
  readonly deleted?: true;
}

/** What a projection reads: events after `afterOffset`, at most `limit`, optionally filtered. */
export interface JournalQuery {
  readonly afterOffset: number;
  readonly limit: number;
  /** Only persistence ids that start with this. */
  readonly persistenceIdPrefix?: string;
  /** Only events carrying this tag. */
  readonly tag?: string;
}

/**
 * A persistence backend.
 *
 * - `write` applies a batch in **one transaction** (the behaviours' group commit): either the
 *   whole batch is durable when it resolves, or none of it is. Inside the batch each write
 *   succeeds or is refused on its own: a write whose expected sequence or revision is not the
 *   current one is refused (`{ ok: false, actual }`) and changes nothing; the others commit.
 *   Writes apply in batch order, so of two writes with the same expectation, the first wins.
 *   A database error rejects the whole batch (nothing is stored).
 * - **Failures.** A database that cannot be reached or written (connection lost, locked,
 *   read-only, full, I/O error) rejects the call with a `StoreUnavailableError`, which says
 *   whether a write may nevertheless have committed (`mayHaveCommitted`); it never crashes the
 *   process, and the store serves later calls once the cause is gone (reconnecting as needed).
 *   Other database errors (a constraint, a trigger) reject with the database's own error.
 *   Bad arguments (a negative sequence number, criteria that are not numbers) reject with a
 *   `TypeError` or `RangeError`.
 * - **Snapshots.** Several per persistence id, one per sequence number (saving at a sequence
 *   number that has one replaces it). Loads and deletes select them by
 *   {@link SnapshotSelectionCriteria}; a load returns the newest (highest `seq`) selected one.
 * - Reads see only committed data. Once `close()` is called every method rejects with
 *   `StoreClosedError`.
 *
 * (Sharded entities will later add a fencing token, an epoch per shard, to writes; the schemas
 * are versioned and migrated at open, so that is one more migration and one more check per write.)
 */
export interface PersistenceStore {
  /** For logs and errors, e.g. `sqlite:/var/lib/app/troupe.db`. */
  readonly name: string;
  write(writes: readonly Write[]): Promise<WriteResult[]>;
  /** Events of `persistenceId` with `seq >= fromSeq`, ascending, at most `limit`. */
  readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]>;
  /** The highest sequence number ever written for `persistenceId` (0 if none), deleted events included. */
  highestSeq(persistenceId: string): Promise<number>;
  /** Deletes the events of `persistenceId` with `seq <= toSeq`; `highestSeq` is unchanged. */
  deleteEvents(persistenceId: string, toSeq: number): Promise<void>;
  /** Stores `snapshot` at its `seq` (replacing one already there); other snapshots are kept. */
  saveSnapshot(persistenceId: string, snapshot: SnapshotToSave): Promise<void>;
  /** The newest (highest `seq`) snapshot `criteria` selects (default: all), or undefined. */
  loadSnapshot(
    persistenceId: string,
    criteria?: SnapshotSelectionCriteria,
  ): Promise<StoredSnapshot | undefined>;
  /** Deletes every snapshot of `persistenceId` that `criteria` selects; resolves to how many. */
  deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<number>;
  /** The durable state (a tombstone after a delete, see {@link StoredState}), or undefined if never written. */
  loadState(persistenceId: string): Promise<StoredState | undefined>;
  /** The global journal in offset order (see {@link JournalQuery}). */
  readJournal(query: JournalQuery): Promise<JournalEntry[]>;
  /** A projection's stored offset (0 when it has none). */
  loadCheckpoint(projectionId: string): Promise<number>;
  saveCheckpoint(projectionId: string, offset: number): Promise<void>;
  /**
   * Calls `listener` after each commit that appended events through this store object (other
   * processes' writes are seen by polling). Returns the unsubscribe function.
   */
  onAppend(listener: () => void): () => void;
  /** Releases the database; pending writes settle first. Idempotent. */
  close(): Promise<void>;
}
