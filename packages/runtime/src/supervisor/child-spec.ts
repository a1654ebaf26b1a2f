import type { Message } from '../actor/actor-ref.js';
import { type Behavior, isBehavior, isRawMachine } from '../actor/behavior.js';
import { DEFAULT_SHUTDOWN_MS, type MailboxOptions, validateName } from '../actor/spawn-options.js';
import { validateCapacity, validateOverflow } from '../channel/overflow.js';

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
  try {
    validateName(s.id);
  } catch (error) {
    throw new TypeError(`${where}: id: ${(error as Error).message}`);
  }
  const id = s.id as string;
  const hasBehavior = s.behavior !== undefined;
  const hasStart = s.start !== undefined;
  if (hasBehavior === hasStart) throw new TypeError(`${where}: give exactly one of behavior or start`);
  if (hasBehavior && !isBehavior(s.behavior))
    throw new TypeError(notABehavior(where, 'behavior', s.behavior));
  if (hasStart && typeof s.start !== 'function') throw new TypeError(`${where}: start must be a function`);
  const restart = s.restart ?? 'permanent';
  if (typeof restart !== 'string' || !RESTART_TYPES.includes(restart)) {
    throw new TypeError(
      `${where}: restart must be 'permanent', 'transient' or 'temporary'; got ${String(restart)}`,
    );
  }
  const shutdownMs = s.shutdownMs ?? DEFAULT_SHUTDOWN_MS;
  if (typeof shutdownMs !== 'number' || !Number.isFinite(shutdownMs) || shutdownMs < 0) {
    throw new RangeError(`${where}: shutdownMs must be a finite number >= 0; got ${String(shutdownMs)}`);
  }
  const mailbox = s.mailbox as MailboxOptions | undefined;
  if (mailbox !== undefined) {
    try {
      if (mailbox.capacity !== undefined) validateCapacity(mailbox.capacity, 'mailbox.capacity');
      if (mailbox.overflow !== undefined) validateOverflow(mailbox.overflow);
    } catch (error) {
      const E = error instanceof RangeError ? RangeError : TypeError;
      throw new E(`${where}: ${(error as Error).message}`);
    }
  }
  const behavior = hasBehavior
    ? () => s.behavior as Behavior<Message>
    : () => {
        const made = (s.start as () => unknown)();
        if (!isBehavior(made)) throw new TypeError(notABehavior(where, 'what start() returned', made));
        return made;
      };
  return { id, behavior, restart: restart as RestartType, shutdownMs, mailbox };
}

/** Validates every spec and that ids are unique. */
export function validateChildSpecs(specs: unknown): ResolvedChildSpec[] {
  if (!Array.isArray(specs)) throw new TypeError('children must be an array of child specs');
  const resolved = specs.map((spec, i) => validateChildSpec(spec, i));
  const seen = new Set<string>();
  for (const spec of resolved) {
    if (seen.has(spec.id)) throw new TypeError(`child "${spec.id}": duplicate id`);
    seen.add(spec.id);
  }
  return resolved;
}

function notABehavior(where: string, what: string, value: unknown): string {
  return isRawMachine(value)
    ? `${where}: ${what} is a raw XState machine; wrap it with fromMachine(machine)`
    : `${where}: ${what} must come from receive() or fromMachine()`;
}
