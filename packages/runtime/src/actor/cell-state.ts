import type { Logger } from '../logger.js';
import type { ActorCell } from './actor-cell.js';
import type { Message } from './actor-ref.js';
import type { Terminated } from './behavior.js';
import type { ExitReason } from './exit-reason.js';
import type { TimerScheduler } from './timers.js';

/**
 * The state of an actor cell beyond its hot fields.
 *
 * Internal: not exported from the package.
 */

/** A system-lane message: handled before any user message. */
export type SystemMessage =
  /**
   * `exit`: the actor stops itself, or is stopped by someone other than its parent — an exit its
   * supervisor answers (a permanent child comes back, as in OTP). Otherwise (its parent asked,
   * or shutdown) it stops for good.
   */
  | { readonly kind: 'stop'; readonly reason: ExitReason; readonly exit: boolean }
  | { readonly kind: 'terminated'; readonly signal: Terminated }
  | { readonly kind: 'childExited'; readonly child: ActorCell<Message>; readonly reason: ExitReason };

/** The parts of a cell most actors never use: death watch, timers, logger, shutdown state. */
export class Rare<M extends Message> {
  exitReason: ExitReason | null = null;
  /** Who watches this actor, and whom it watches. */
  watchers: Set<ActorCell<Message>> | null = null;
  watching: Set<ActorCell<Message>> | null = null;
  timers: TimerScheduler<M> | null = null;
  logger: Logger | null = null;
  nextChildName = 0;
  /** Graceful stop: called once the mailbox is drained; the hard-stop timer; who awaits the stop. */
  drained: (() => void) | null = null;
  drainTimer: unknown = undefined;
  stopWaiters: (() => void)[] | null = null;
  terminating = false;
  /** `ctx.pause`: requested during a handler, then the timer that ends it. */
  pauseMs = 0;
  pauseTimer: unknown = undefined;
}
