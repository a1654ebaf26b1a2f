import type { SpanContext } from '@opentelemetry/api';
import type { Logger } from '../../logger.js';
import type { Message } from '../actor-ref.js';
import type { ExitReason } from '../exit-reason.js';
import type { TimerScheduler } from '../timers.js';
import type { Handling } from '../tracing.js';
import { DeathWatch } from './death-watch.js';

/**
 * The parts of an actor cell most actors never use, allocated on first use so that idle actors
 * stay small (S5): death watch, timers, the logger, the rarer counters and the stop machinery.
 *
 * @internal Not exported from the package.
 */
export class Rare<M extends Message> {
  exitReason: ExitReason | null = null;
  deathWatch: DeathWatch | null = null;
  timers: TimerScheduler<M> | null = null;
  logger: Logger | null = null;
  /** Received messages evicted from the mailbox by `dropOldest` / `latest`. */
  evicted = 0;
  /** Received messages that ended as dead letters (still queued or in flight when it stopped). */
  deadLettered = 0;
  /** Timer messages that were queued, then cancelled or replaced before they were handled. */
  cancelled = 0;
  /** Graceful stop: called once the mailbox is drained; the hard-stop timer; who awaits the stop. */
  drained: (() => void) | null = null;
  drainTimer: unknown = undefined;
  stopWaiters: (() => void)[] | null = null;
  terminating = false;
  /** A stop request under a supervisor: the timer that forces it when a handler never ends. */
  exitTimer: unknown = undefined;
  exitWaiters: (() => void)[] | null = null;
  /** `ctx.pause`: requested during a handler, then the timer that ends it. */
  pauseMs = 0;
  pauseTimer: unknown = undefined;
  /** Tracing on: the span of the message being handled, until its handling ends. */
  handling: Handling | null = null;
  /** Tracing on: the span of the message that failed this incarnation, for its restart span. */
  failedSpan: SpanContext | null = null;

  get watch(): DeathWatch {
    this.deathWatch ??= new DeathWatch();
    return this.deathWatch;
  }
}
