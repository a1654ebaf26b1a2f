import type { Message } from '../actor/actor-ref.js';
import { type Behavior, isBehavior, isRawMachine } from '../actor/behavior.js';
import { DEFAULT_SHUTDOWN_MS, type MailboxOptions, validateName } from '../actor/spawn-options.js';
import { validateCapacity, validateOverflow } from '../channel/overflow.js';
import { OptionChecks } from '../options.js';

/**
 * When a child is restarted (OTP restart types):
 * - `permanent`: always, whatever made it exit;
 * - `transient`: only after an abnormal exit (`error`), not after a normal one;
 * - `temporary`: never, not even when a sibling's failure takes it down (it is then removed).
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * One child of a supervisor, as plain data (OTP's child spec). Validated, with every other spec
 * of the supervisor, before anything starts.
 */
export interface ChildSpec<M extends Message = Message> {
  /** Unique among the supervisor's children; also the child's name (so its path ends in it). */
  readonly id: string;
  /** The behaviour, reused at each restart (restarts begin from its initial state)… */
  readonly behavior?: Behavior<M>;
  /** …or a factory called for each start and restart. Exactly one of the two. */
  readonly start?: () => Behavior<M>;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /** How long it may drain its mailbox when stopped gracefully; ms ≥ 0, default 5000. */
  readonly shutdownMs?: number;
  readonly mailbox?: MailboxOptions;
}

/** A child spec with its defaults applied, as {@link validateChildSpec} returns it. */
export interface ResolvedChildSpec {
  readonly id: string;
  readonly behavior: () => Behavior<Message>;
  readonly restart: RestartType;
  readonly shutdownMs: number;
  readonly mailbox: MailboxOptions | undefined;
}

const RESTART_TYPES: readonly string[] = ['permanent', 'transient', 'temporary'];

/**
 * Checks one spec and applies defaults. Throws `TypeError` or `RangeError` naming the child
 * (by id, or by position when the id itself is bad) and the offending field.
 */
export function validateChildSpec(spec: unknown, index = 0): ResolvedChildSpec {
  if (spec === null || typeof spec !== 'object') {
    throw new TypeError(
      `child spec #${index} must be an object; got ${spec === null ? 'null' : typeof spec}`,
    );
  }
  const s = spec as Record<string, unknown>;
  const where = typeof s.id === 'string' && s.id !== '' ? `child "${s.id}"` : `child spec #${index}`;
  const checks = new OptionChecks(where);
  checks.run(() => {
    try {
      validateName(s.id);
    } catch (error) {
      throw new TypeError(`${where}: id: ${(error as Error).message}`);
    }
  }, undefined);
  const id = s.id as string;
  const hasBehavior = s.behavior !== undefined;
  const hasStart = s.start !== undefined;
  checks.run(() => {
    if (hasBehavior === hasStart) throw new TypeError(`${where}: give exactly one of behavior or start`);
    if (hasBehavior && !isBehavior(s.behavior))
      throw new TypeError(notABehavior(where, 'behavior', s.behavior));
    if (hasStart && typeof s.start !== 'function') throw new TypeError(`${where}: start must be a function`);
  }, undefined);
  const restart = checks.run(() => {
    const value = s.restart ?? 'permanent';
    if (typeof value !== 'string' || !RESTART_TYPES.includes(value)) {
      throw new TypeError(
        `${where}: restart must be 'permanent', 'transient' or 'temporary'; got ${String(value)}`,
      );
    }
    return value as RestartType;
  }, 'permanent');
  const shutdownMs = checks.run(() => {
    const value = s.shutdownMs ?? DEFAULT_SHUTDOWN_MS;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${where}: shutdownMs must be a finite number >= 0; got ${String(value)}`);
    }
    return value;
  }, DEFAULT_SHUTDOWN_MS);
  const mailbox = s.mailbox as MailboxOptions | undefined;
  if (mailbox !== undefined) {
    const within = (check: () => unknown) => () => {
      try {
        check();
      } catch (error) {
        const E = error instanceof RangeError ? RangeError : TypeError;
        throw new E(`${where}: ${(error as Error).message}`);
      }
    };
    if (mailbox.capacity !== undefined)
      checks.run(
        within(() => validateCapacity(mailbox.capacity, 'mailbox.capacity')),
        undefined,
      );
    if (mailbox.overflow !== undefined)
      checks.run(
        within(() => validateOverflow(mailbox.overflow)),
        undefined,
      );
  }
  checks.done();
  const behavior = hasBehavior
    ? () => s.behavior as Behavior<Message>
    : () => {
        const made = (s.start as () => unknown)();
        if (!isBehavior(made)) throw new TypeError(notABehavior(where, 'what start() returned', made));
        return made;
      };
  return { id, behavior, restart, shutdownMs, mailbox };
}

/** Validates every spec and that ids are unique. */
export function validateChildSpecs(specs: unknown): ResolvedChildSpec[] {
  if (!Array.isArray(specs)) throw new TypeError('children must be an array of child specs');
  const checks = new OptionChecks('children');
  const resolved: ResolvedChildSpec[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const one = checks.run(() => validateChildSpec(spec, i), undefined);
    if (one === undefined) return;
    if (seen.has(one.id))
      checks.run(() => {
        throw new TypeError(`child "${one.id}": duplicate id`);
      }, undefined);
    seen.add(one.id);
    resolved.push(one);
  });
  checks.done();
  return resolved;
}

function notABehavior(where: string, what: string, value: unknown): string {
  return isRawMachine(value)
    ? `${where}: ${what} is a raw XState machine; wrap it with fromMachine(machine)`
    : `${where}: ${what} must come from receive() or fromMachine()`;
}
