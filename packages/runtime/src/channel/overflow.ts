/**
 * What a bounded queue does with a value that arrives while it is full.
 *
 * - `'block'`: refuse it without dropping anything. `trySend` returns `{ reason: 'full', value }`
 *   (the caller keeps the value); `send` waits for room, FIFO among waiting senders
 *   (backpressure). Nothing is counted as dropped.
 * - `'dropNewest'`: refuse and drop the arriving value; what is queued stays.
 * - `'dropOldest'`: drop the oldest queued value to make room (a sliding window of the most
 *   recent `capacity` values).
 * - `'latest'`: keep only the newest value. Every arrival replaces whatever is queued, so the
 *   queue never holds more than one value whatever its capacity (a conflated queue, for
 *   "current state" streams such as prices or gauges).
 *
 * Under the three dropping policies sending never waits. Every dropped value is counted and
 * handed to the channel's `onDrop` callback: nothing disappears silently.
 */
export type OverflowPolicy = 'block' | 'dropNewest' | 'dropOldest' | 'latest';

const POLICIES: readonly string[] = ['block', 'dropNewest', 'dropOldest', 'latest'];

/** @internal Throws `TypeError` naming the bad value unless it is an {@link OverflowPolicy}. */
export function validateOverflow(overflow: unknown): OverflowPolicy {
  if (typeof overflow !== 'string' || !POLICIES.includes(overflow)) {
    throw new TypeError(
      `overflow must be one of ${POLICIES.map((p) => `'${p}'`).join(', ')}; got ${describe(overflow)}`,
    );
  }
  return overflow as OverflowPolicy;
}

/** @internal Throws `RangeError` naming the bad value unless `capacity` is an integer ≥ 1. */
export function validateCapacity(capacity: unknown, what = 'capacity'): number {
  if (typeof capacity !== 'number' || !Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`${what} must be an integer >= 1; got ${describe(capacity)}`);
  }
  return capacity;
}

/** @internal A short, safe rendering of a bad argument for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value;
}
