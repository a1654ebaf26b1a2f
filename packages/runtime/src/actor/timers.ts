import type { Context } from '@opentelemetry/api';
import type { Clock } from '../time/clock.js';
import type { Message } from './actor-ref.js';

/**
 * Keyed timers that deliver messages to their actor (Akka's `TimerScheduler`).
 *
 * - Starting a timer under a key that is already active replaces it: the old timer's message is
 *   never delivered, **even if it already fired and sits in the mailbox**.
 * - `cancel(key)` gives the same guarantee. All timers are cancelled when the actor stops or
 *   restarts.
 * - A fired timer message is delivered like `tell`: if the mailbox is full under `block` it
 *   becomes a dead letter (`mailboxFull`).
 * - Time comes from the system's `Clock`, so tests advance it with `VirtualClock`.
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

interface Entry {
  readonly generation: number;
  readonly periodic: boolean;
  handle: unknown;
}

/** @internal */
export class TimerScheduler<M extends Message> implements Timers<M> {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly deliver: (envelope: TimerMessage<M>) => void,
    /** A periodic timer could not be re-armed (the clock threw inside a timer callback). */
    private readonly failed: (error: unknown) => void,
    /** The trace context to keep with a timer started now (tracing on), else null. */
    private readonly capture: (() => Context | undefined) | null = null,
  ) {}

  startSingle(key: string, message: M, delayMs: number): void {
    this.start(key, message, checkDelay(delayMs, 'delayMs', 0), false);
  }

  startPeriodic(key: string, message: M, intervalMs: number): void {
    this.start(key, message, checkDelay(intervalMs, 'intervalMs', Number.MIN_VALUE), true);
  }

  cancel(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.clock.clearTimeout(entry.handle);
    this.entries.delete(key);
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
    if (!entry.periodic) this.entries.delete(envelope.key);
    return true;
  }

  private start(key: string, message: M, ms: number, periodic: boolean): void {
    this.cancel(key);
    const generation = ++this.generation;
    const envelope = new TimerMessage(key, generation, message, this.capture?.());
    const entry: Entry = { generation, periodic, handle: undefined };
    const fire = () => {
      if (this.entries.get(key) !== entry) return;
      if (periodic) {
        try {
          entry.handle = this.clock.setTimeout(fire, ms);
        } catch (error) {
          this.entries.delete(key);
          this.failed(error);
          return;
        }
      }
      this.deliver(envelope);
    };
    entry.handle = this.clock.setTimeout(fire, ms);
    this.entries.set(key, entry);
  }
}

function checkDelay(ms: number, what: string, min: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min) {
    throw new RangeError(`${what} must be a finite number ${min > 0 ? '> 0' : '>= 0'}; got ${String(ms)}`);
  }
  return ms;
}
