import type { OverflowPolicy } from '../channel/overflow.js';

/** The mailbox of an actor: bounded, with an overflow policy. */
export interface MailboxOptions {
  /** Most user messages it holds (system messages do not count). Integer ≥ 1; default 1024. */
  readonly capacity?: number;
  /** What a full mailbox does with a new message; default `'block'`. See `OverflowPolicy`. */
  readonly overflow?: OverflowPolicy;
}

/** Options of `spawn`. */
export interface SpawnOptions {
  /**
   * Unique among siblings; letters, digits and `-_.~:@`, not starting with `$` (reserved for
   * generated names). Default: a generated `$`-name.
   */
  readonly name?: string;
  readonly mailbox?: MailboxOptions;
  /** Most messages handled per turn before yielding to other actors; integer ≥ 1, default 64. */
  readonly throughput?: number;
  /**
   * On a graceful stop (system shutdown, its supervisor stopping), how long the actor may take
   * to drain its mailbox before it is stopped hard; ms ≥ 0, default 5000.
   */
  readonly shutdownMs?: number;
}

/** @internal */
export const DEFAULT_MAILBOX_CAPACITY = 1024;
/** @internal */
export const DEFAULT_THROUGHPUT = 64;
/** @internal */
export const DEFAULT_SHUTDOWN_MS = 5000;

/** @internal Throws `RangeError` naming `what` unless `ms` is a finite number ≥ 0. */
export function validateDuration(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`${what} must be a finite number >= 0; got ${String(ms)}`);
  }
  return ms;
}

const NAME = /^[A-Za-z0-9\-_.~:@]+$/;

/** @internal Throws `TypeError` naming the problem unless `name` is a valid actor name. */
export function validateName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.startsWith('$')) {
    throw new TypeError(
      `actor name must be a non-empty string of letters, digits and -_.~:@, not starting with $; got ${
        typeof name === 'string' ? JSON.stringify(name) : typeof name
      }`,
    );
  }
  return name;
}
