/**
 * The store contract every backend implements (memory, SQLite, PostgreSQL), and that one
 * conformance suite checks (`test/store-conformance.ts`). Payloads are opaque strings (the
 * behaviours encode them as JSON); sequence numbers start at 1 per persistence id; revisions of
 * durable state start at 1.
 */

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
    };

/** The outcome of one write: stored, or refused because another writer got there first. */
export type WriteResult = { readonly ok: true } | { readonly ok: false; readonly actual: number };

/** The latest snapshot of an event-sourced actor: its state after event `seq`. */
export interface StoredSnapshot {
  readonly seq: number;
  readonly payload: string;
}

/** The durable state of a persistence id at `revision`. */
export interface StoredState {
  readonly revision: number;
  readonly payload: string;
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
 * - Reads see only committed data. Once `close()` is called every method rejects.
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
  /** Keeps `snapshot` as the latest one unless a later (higher `seq`) one is already stored. */
  saveSnapshot(persistenceId: string, snapshot: StoredSnapshot): Promise<void>;
  loadSnapshot(persistenceId: string): Promise<StoredSnapshot | undefined>;
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
