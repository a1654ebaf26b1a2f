import { type OverflowPolicy, validateCapacity, validateOverflow } from '../channel/overflow.js';
import { OptionChecks } from '../options.js';

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
  if (typeof name !== 'string' || !NAME.test(name) || name.startsWith('$') || /^\.+$/.test(name)) {
    throw new TypeError(
      `actor name must be a non-empty string of letters, digits and -_.~:@, not starting with $ and not only dots; got ${
        typeof name === 'string' ? JSON.stringify(name) : typeof name
      }`,
    );
  }
  return name;
}

/** @internal Spawn options checked and with their defaults applied. */
export interface ResolvedSpawnOptions {
  readonly name: string | undefined;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly throughput: number;
  readonly shutdownMs: number;
}

/**
 * @internal Checks `spawn` options before anything is created: throws `TypeError` (wrong kind,
 * bad name, bad policy) or `RangeError` (bad number), naming the field; several bad fields are
 * one `InvalidOptionsError` naming each.
 */
export function resolveSpawnOptions(options: unknown): ResolvedSpawnOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `spawn: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  const o = options as SpawnOptions;
  const checks = new OptionChecks('spawn');
  const mailbox: unknown = o.mailbox ?? {};
  const m = checks.run(() => {
    if (mailbox === null || typeof mailbox !== 'object') {
      throw new TypeError(
        `spawn: mailbox must be an object; got ${mailbox === null ? 'null' : typeof mailbox}`,
      );
    }
    return mailbox as MailboxOptions;
  }, {} as MailboxOptions);
  const resolved: ResolvedSpawnOptions = {
    name: o.name === undefined ? undefined : checks.run(() => validateName(o.name), undefined),
    capacity: checks.run(
      () => validateCapacity(m.capacity ?? DEFAULT_MAILBOX_CAPACITY, 'mailbox.capacity'),
      DEFAULT_MAILBOX_CAPACITY,
    ),
    overflow: m.overflow === undefined ? 'block' : checks.run(() => validateOverflow(m.overflow), 'block'),
    throughput: checks.run(
      () => validateCapacity(o.throughput ?? DEFAULT_THROUGHPUT, 'throughput'),
      DEFAULT_THROUGHPUT,
    ),
    shutdownMs: checks.run(
      () => validateDuration(o.shutdownMs ?? DEFAULT_SHUTDOWN_MS, 'shutdownMs'),
      DEFAULT_SHUTDOWN_MS,
    ),
  };
  checks.done();
  return resolved;
}
