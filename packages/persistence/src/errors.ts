/**
 * Typed failures of persistent actors. Each is a failure of the actor (its supervisor
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

/** A stored event, snapshot or state could not be decoded (or the event adapter threw) on recovery. */
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

/** The stored events of a persistence id are not contiguous (deleted without a snapshot covering them). */
export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
  constructor(
    readonly persistenceId: string,
    message: string,
  ) {
    super(`${persistenceId}: ${message}`);
  }
}

/** A method was called on a store after `close()`. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  constructor(store: string) {
    super(`${store}: the store is closed`);
  }
}
