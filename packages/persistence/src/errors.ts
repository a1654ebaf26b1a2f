/**
 * Typed failures of persistent actors and stores. Each is a failure of the actor (its supervisor
 * decides), never a crashed process.
 */

/**
 * Another writer (a second incarnation of the same persistence id, e.g. on another node)
 * stored first: this write changed nothing. The supervisor's restart recovers the winner's state.
 */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly persistenceId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `${persistenceId}: expected to write after ${expected}, but the store is at ${actual}: another writer owns this persistence id`,
    );
  }
}

/**
 * A stored event, snapshot or state could not be decoded (its JSON is broken, or the adapter
 * threw). During recovery it is the `cause` of a {@link RecoveryError} (an event, a state) or
 * makes recovery fall back to an older snapshot (a snapshot).
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly persistenceId: string,
    /** What failed: `event 42`, `snapshot at 1000`, `state revision 3`. */
    readonly what: string,
    readonly seq: number,
    options: { cause: unknown },
  ) {
    super(
      `${persistenceId}: ${what} cannot be decoded: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
  }
}

/**
 * Recovery could not rebuild the state from what is stored, so the actor did not start: a
 * stored event that cannot be decoded, an event handler that threw while replaying one, events
 * missing from the journal, a stored durable state that cannot be read.
 *
 * - `persistenceId` and `seq` say where: the sequence number of the event recovery could not get
 *   past (event sourcing; for missing events the first one missing), or the revision of the
 *   stored state (durable state). `cause` holds the underlying error (a `DecodeError`, or what
 *   the event handler threw), when there is one.
 * - It is a failed start (`ActorFailed`, phase `start`), answered by the supervisor like any
 *   other failure. Nothing is written after it: the actor takes no message, saves no snapshot.
 * - A store that cannot be reached is not a `RecoveryError`: its own error (for example
 *   {@link StoreUnavailableError}) fails the start instead, since a restart may well succeed.
 */
export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
  constructor(
    readonly persistenceId: string,
    /** The event's sequence number (event sourcing) or the state's revision (durable state). */
    readonly seq: number,
    message: string,
    options?: { cause: unknown },
  ) {
    super(`${persistenceId}: ${message}`, options);
  }
}

/** A method was called on a store after `close()`. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  constructor(store: string) {
    super(`${store}: the store is closed`);
  }
}

/**
 * Why a store could not serve a call:
 * - `connection`: the connection to the database server died or could not be made (PostgreSQL
 *   backend terminated, server restarted or down, network cut, pool timeout).
 * - `busy`: another connection holds the database's write lock longer than the store waits
 *   (SQLite `SQLITE_BUSY` / `SQLITE_LOCKED`).
 * - `readOnly`: the database cannot be written (a read-only file or directory, a database file
 *   moved or deleted while open: SQLite `SQLITE_READONLY*`).
 * - `diskFull`: the disk or a size limit is full (SQLite `SQLITE_FULL`).
 * - `io`: the operating system failed a read or write (SQLite `SQLITE_IOERR*`, `SQLITE_CANTOPEN`,
 *   e.g. a file-size limit reached).
 */
export type StoreUnavailableReason = 'connection' | 'busy' | 'readOnly' | 'diskFull' | 'io';

/**
 * The store could not serve a call for a reason outside the data: the database connection died,
 * the database is locked, read-only or full, an I/O error (see {@link StoreUnavailableReason}).
 * The original error is `cause`. The store stays usable: later calls reconnect (PostgreSQL's pool
 * opens fresh connections; SQLite retries on the next call), and succeed once the cause is gone.
 *
 * **Did the write happen?** `mayHaveCommitted` is false when the database certainly stored
 * nothing of the call (it failed before the commit was asked for, or the database refused to
 * start it). It is true when the outcome is unknown: the connection died after the commit was
 * sent and before its answer came back (the commit may have happened), or an I/O error hit
 * the commit itself. Reads always have `mayHaveCommitted: false`.
 *
 * **How the behaviours handle it.** A write of an event-sourced or durable-state actor that
 * fails this way fails the actor, as any failed write does: the command becomes a `failed`
 * dead letter, its events are not applied, `then` does not run (no reply). The supervisor's
 * restart then recovers from what really is in the store, so a write that did commit despite
 * the error is part of the recovered state, and one that did not is not: the actor never acts
 * on a guess. If the actor were not restarted it could not write again anyway: its next write
 * would carry a stale expectation and be refused (`ConcurrencyError`).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE';
  constructor(
    /** The store's name, e.g. `postgres:public`. */
    readonly store: string,
    readonly reason: StoreUnavailableReason,
    /** True when the call was a write whose commit may have happened (see the class doc). */
    readonly mayHaveCommitted: boolean,
    options: { cause: unknown },
  ) {
    const cause = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `${store}: the store is unavailable (${reason}${mayHaveCommitted ? '; the write may have committed' : ''}): ${cause}`,
      options,
    );
  }
}
