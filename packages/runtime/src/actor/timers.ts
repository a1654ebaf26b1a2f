import type { Context } from '@opentelemetry/api';
import type { Clock } from '../time/clock.js';
import type { Message } from './actor-ref.js';

/**
 * Keyed timers that deliver messages to their actor (Akka's `TimerScheduler`).
 *
 * - Starting a timer under a key that is already active replaces it: the old timer's message is
 *   never delivered, **even if it already fired and sits in the mailbox**.
 * - `cancel(key)` gives the same guarantee. All timers are cancelled when the actor stops or
 *   restarts — except that a persistent machine actor saves them with its state and restores
 *   them at its next start with their original deadlines (see `fromMachine`'s `persistence`).
 * - A fired timer message is delivered like `tell`: if the mailbox is full under `block` it
 *   becomes a dead letter (`mailboxFull`).
 * - Time comes from the system's `Clock`, so tests advance it with `VirtualClock`. Each timer is
 *   due at a deadline on that clock; a periodic one is due again `intervalMs` after each fire.
 * - Delays must be finite numbers ≥ 0 (periodic intervals > 0), else `RangeError`.
 */
export interface Timers<M extends Message> {
  /** Delivers `message` once, after `delayMs`. */
  startSingle(key: string, message: M, delayMs: number): void;
  /** Delivers `message` every `intervalMs` (fixed delay between fires), until cancelled. */
  startPeriodic(key: string, message: M, intervalMs: number): void;
  cancel(key: string): void;
  isActive(key: string): boolean;
  cancelAll(): void;
}

/**
 * A pending delayed event: a message due at a deadline, known by a key. The one description of
 * "something that will be delivered later" in the runtime — a keyed timer of `ctx.timers`, and
 * a delayed event of an XState machine (`after`, a delayed `raise` or `sendTo`) — and what a
 * persistent machine stores (plain JSON).
 */
export interface DelayedEvent<M extends Message = Message> {
  /** Its name among its owner's pending events (the timer key, or XState's id): one per key. */
  readonly key: string;
  readonly message: M;
  /**
   * When it is due, as an absolute time on the actor system's clock (`clock.now()`), not a
   * remaining delay: a restore keeps it, so a crash never postpones it. Overdue: fires at once.
   */
  readonly deadline: number;
  /** A periodic timer: due again this many ms after each fire. */
  readonly periodMs?: number;
  /**
   * Who receives it when not its owner: for a machine, `#_<id>` names one of its XState
   * children (SCXML's `#_invokeid`). Absent: the owner itself.
   */
  readonly target?: string;
}

/**
 * The keyed timers as a persistent behaviour saves and restores them (`Lifecycle.timerState`):
 * the pending ones, putting saved ones back due at their deadlines, and a counter that moves
 * whenever they change (start, cancel, a periodic fire, a single one handled).
 */
export interface TimerState {
  pending(): DelayedEvent[];
  restore(events: readonly DelayedEvent[]): void;
  changes(): number;
}

/** @internal A fired timer's envelope in the mailbox: delivered only if still current. */
export class TimerMessage<M extends Message> {
  constructor(
    readonly key: string,
    readonly generation: number,
    readonly message: M,
    /** The trace context the timer was started in (tracing on, and a span was active). */
    readonly context: Context | undefined = undefined,
  ) {}
}

interface Entry<M extends Message> {
  readonly generation: number;
  readonly message: M;
  readonly periodMs: number;
  deadline: number;
  handle: unknown;
}

/** @internal */
export class TimerScheduler<M extends Message> implements Timers<M>, TimerState {
  private readonly entries = new Map<string, Entry<M>>();
  private generation = 0;
  /** Bumped on every start, cancel, fire of a periodic timer and acceptance: a persistent owner saves when it moved. */
  private changed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly deliver: (envelope: TimerMessage<M>) => void,
    /** A periodic timer could not be re-armed (the clock threw inside a timer callback). */
    private readonly failed: (error: unknown) => void,
    /** The trace context to keep with a timer started now (tracing on), else null. */
    private readonly capture: (() => Context | undefined) | null = null,
  ) {}

  startSingle(key: string, message: M, delayMs: number): void {
    const ms = checkDelay(delayMs, 'delayMs', 0);
    this.start(key, message, this.clock.now() + ms, 0);
  }

  startPeriodic(key: string, message: M, intervalMs: number): void {
    const ms = checkDelay(intervalMs, 'intervalMs', Number.MIN_VALUE);
    this.start(key, message, this.clock.now() + ms, ms);
  }

  cancel(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.clock.clearTimeout(entry.handle);
    this.entries.delete(key);
    this.changed++;
  }

  isActive(key: string): boolean {
    return this.entries.has(key);
  }

  cancelAll(): void {
    for (const entry of this.entries.values()) this.clock.clearTimeout(entry.handle);
    this.entries.clear();
  }

  /** Whether a dequeued envelope is still current; a single timer is done once accepted. */
  accept(envelope: TimerMessage<M>): boolean {
    const entry = this.entries.get(envelope.key);
    if (entry === undefined || entry.generation !== envelope.generation) return false;
    if (entry.periodMs === 0) {
      this.entries.delete(envelope.key);
      this.changed++;
    }
    return true;
  }

  changes(): number {
    return this.changed;
  }

  /** The pending timers (a fired single one counts until its message is handled), in deadline order. */
  pending(): DelayedEvent<M>[] {
    const out: DelayedEvent<M>[] = [];
    for (const [key, e] of this.entries) {
      out.push(
        e.periodMs === 0
          ? { key, message: e.message, deadline: e.deadline }
          : { key, message: e.message, deadline: e.deadline, periodMs: e.periodMs },
      );
    }
    return out.sort((a, b) => a.deadline - b.deadline);
  }

  /** Puts saved timers back with their deadlines (overdue: at once, in deadline order). */
  restore(events: readonly DelayedEvent<M>[]): void {
    for (const e of [...events].sort((a, b) => a.deadline - b.deadline)) {
      this.start(e.key, e.message, e.deadline, e.periodMs ?? 0);
    }
  }

  private start(key: string, message: M, deadline: number, periodMs: number): void {
    this.cancel(key);
    const generation = ++this.generation;
    const envelope = new TimerMessage(key, generation, message, this.capture?.());
    const entry: Entry<M> = { generation, message, periodMs, deadline, handle: undefined };
    const fire = () => {
      if (this.entries.get(key) !== entry) return;
      if (periodMs > 0) {
        entry.deadline = this.clock.now() + periodMs;
        this.changed++;
        try {
          entry.handle = this.clock.setTimeout(fire, periodMs);
        } catch (error) {
          this.entries.delete(key);
          this.failed(error);
          return;
        }
      }
      this.deliver(envelope);
    };
    entry.handle = this.clock.setTimeout(fire, Math.max(0, deadline - this.clock.now()));
    this.entries.set(key, entry);
    this.changed++;
  }
}

function checkDelay(ms: number, what: string, min: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min) {
    throw new RangeError(`${what} must be a finite number ${min > 0 ? '> 0' : '>= 0'}; got ${String(ms)}`);
  }
  return ms;
}
