import type { OverflowPolicy } from '../channel/overflow.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import type { AskTimeouts } from './ask-timeouts.js';
import type { Dispatcher } from './dispatcher.js';
import type { DeadLetterReason } from './events.js';
import type { ExitReason } from './exit-reason.js';
import type { SystemView } from './system-view.js';
import type { Tracing } from './tracing.js';

/**
 * What a cell needs from its actor system; implemented by the system, so cells do not depend
 * on the system class.
 *
 * @internal Not exported from the package.
 */
export interface Host {
  readonly dispatcher: Dispatcher;
  /** The public face of the system, handed to behaviours as `ctx.system`. */
  readonly system: SystemView;
  readonly clock: Clock;
  readonly ids: () => string;
  readonly log: Logger;
  readonly asks: AskTimeouts;
  readonly askTimeoutMs: number;
  /** Message tracing (`null`: off, the default). */
  readonly tracing: Tracing | null;
  /** Set while the system shuts down: leftover messages are dead letters with reason `shutdown`. */
  readonly shuttingDown: boolean;
  /** A cell was created (the test kit's auditor tracks them). */
  created(cell: ActorInfo): void;
  deadLetter(reason: DeadLetterReason, message: unknown, recipient: string, error?: unknown): void;
  publishStarted(actor: ActorInfo): void;
  publishFailed(actor: ActorInfo, error: unknown, phase: 'start' | 'running'): void;
  publishExited(actor: ActorInfo, reason: ExitReason): void;
  publishStopped(actor: ActorInfo, reason: ExitReason): void;
  publishRestarted(actor: ActorInfo, reason: ExitReason): void;
  publishEscalated(actor: ActorInfo, error: unknown): void;
  publishDropped(actor: ActorInfo, message: unknown, policy: OverflowPolicy): void;
}

/** What the host reports about an actor. */
export interface ActorInfo {
  readonly path: string;
  readonly id: string;
  readonly log: Logger;
  readonly restarts: number;
}
