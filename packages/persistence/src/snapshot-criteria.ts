/**
 * Which snapshots a load or a delete picks (Akka's `SnapshotSelectionCriteria`): those whose
 * sequence number and timestamp lie within the bounds. Every bound is inclusive and optional:
 * `{}` selects every snapshot. A load returns the newest (highest sequence number) selected one.
 *
 * Bounds are numbers; `Infinity` / `-Infinity` mean "no bound". Sequence numbers and timestamps
 * are integers, so a fractional bound is rounded inward (`maxSequenceNr: 2.5` selects up to 2).
 * A bound that is not a number (or is `NaN`) is refused with a `TypeError`.
 *
 * @example
 * await store.loadSnapshot('acct-1', { maxSequenceNr: 500 });                 // newest at or before 500
 * await store.deleteSnapshots('acct-1', { maxTimestamp: Date.now() - 86_400_000 }); // older than a day
 */
export interface SnapshotSelectionCriteria {
  /** Only snapshots at or before this sequence number. */
  readonly maxSequenceNr?: number;
  /** Only snapshots taken at or before this time (milliseconds since the epoch). */
  readonly maxTimestamp?: number;
  /** Only snapshots at or after this sequence number. */
  readonly minSequenceNr?: number;
  /** Only snapshots taken at or after this time (milliseconds since the epoch). */
  readonly minTimestamp?: number;
}

/**
 * Criteria as the stores use them (internal): integer bounds, `null` for "no bound", and
 * `empty` when nothing can match (the stores then answer without asking the database).
 */
export interface SnapshotBounds {
  readonly empty: boolean;
  readonly minSeq: number | null;
  readonly maxSeq: number | null;
  readonly minTs: number | null;
  readonly maxTs: number | null;
}

/** Validates `criteria` and turns it into {@link SnapshotBounds}; throws `TypeError` on garbage. */
export function snapshotBounds(
  criteria: SnapshotSelectionCriteria | undefined,
  owner: string,
): SnapshotBounds {
  if (criteria === undefined) return { empty: false, minSeq: null, maxSeq: null, minTs: null, maxTs: null };
  if (criteria === null || typeof criteria !== 'object') {
    throw new TypeError(`${owner}: snapshot criteria must be an object; got ${describe(criteria)}`);
  }
  const minSeq = lower(criteria.minSequenceNr, 'minSequenceNr', owner);
  const maxSeq = upper(criteria.maxSequenceNr, 'maxSequenceNr', owner);
  const minTs = lower(criteria.minTimestamp, 'minTimestamp', owner);
  const maxTs = upper(criteria.maxTimestamp, 'maxTimestamp', owner);
  const empty =
    minSeq === EMPTY ||
    maxSeq === EMPTY ||
    minTs === EMPTY ||
    maxTs === EMPTY ||
    (minSeq !== null && maxSeq !== null && minSeq > maxSeq) ||
    (minTs !== null && maxTs !== null && minTs > maxTs);
  if (empty) return { empty: true, minSeq: null, maxSeq: null, minTs: null, maxTs: null };
  return { empty: false, minSeq, maxSeq, minTs, maxTs } as SnapshotBounds;
}

/** Whether a snapshot at `seq`, taken at `timestamp`, is selected (for stores that filter in memory). */
export function selects(bounds: SnapshotBounds, seq: number, timestamp: number): boolean {
  return (
    !bounds.empty &&
    (bounds.minSeq === null || seq >= bounds.minSeq) &&
    (bounds.maxSeq === null || seq <= bounds.maxSeq) &&
    (bounds.minTs === null || timestamp >= bounds.minTs) &&
    (bounds.maxTs === null || timestamp <= bounds.maxTs)
  );
}

/** Checks a snapshot to save: its sequence number and timestamp are non-negative safe integers. */
export function checkSnapshot(seq: unknown, timestamp: unknown, payload: unknown, owner: string): void {
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
    throw new RangeError(`${owner}: a snapshot's seq must be an integer >= 0; got ${describe(seq)}`);
  }
  if (!Number.isSafeInteger(timestamp) || (timestamp as number) < 0) {
    throw new RangeError(
      `${owner}: a snapshot's timestamp must be an integer >= 0; got ${describe(timestamp)}`,
    );
  }
  if (typeof payload !== 'string') {
    throw new TypeError(`${owner}: a snapshot's payload must be a string; got ${describe(payload)}`);
  }
}

/** A bound that selects nothing (e.g. `maxSequenceNr: -Infinity`). */
const EMPTY = Symbol('empty');

function lower(value: number | undefined, field: string, owner: string): number | null | typeof EMPTY {
  if (value === undefined || value === Number.NEGATIVE_INFINITY) return null;
  check(value, field, owner);
  if (value === Number.POSITIVE_INFINITY || value > Number.MAX_SAFE_INTEGER) return EMPTY;
  return value <= 0 ? null : Math.ceil(value);
}

function upper(value: number | undefined, field: string, owner: string): number | null | typeof EMPTY {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return null;
  check(value, field, owner);
  if (value === Number.NEGATIVE_INFINITY || value < 0) return EMPTY;
  return value >= Number.MAX_SAFE_INTEGER ? null : Math.floor(value);
}

function check(value: unknown, field: string, owner: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${owner}: snapshot criteria ${field} must be a number; got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return value === null ? 'null' : typeof value;
}
