import type { Message } from '../actor/actor-ref.js';
import { AskTimeouts } from '../actor/ask-timeouts.js';
import type { ActorCell } from '../actor/cell/actor-cell.js';
import { Dispatcher } from '../actor/dispatcher.js';
import type { DeadLetterReason, EventStream } from '../actor/events.js';
import type { ExitReason } from '../actor/exit-reason.js';
import type { ActorInfo, Host } from '../actor/host.js';
import type { SystemView } from '../actor/system-view.js';
import type { Tracing } from '../actor/tracing.js';
import type { OverflowPolicy } from '../channel/overflow.js';
import type { IdGenerator } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';

/**
 * What an actor system gives its cells (the `Host` the cells see): the dispatcher, the clock,
 * ids, the logger, the ask timeouts, tracing, and the system events they publish. Events are
 * built only when someone listens (`events.active`); the dead-letter count is kept always.
 *
 * @internal Not exported from the package.
 */
export class SystemHost implements Host {
  readonly dispatcher = new Dispatcher();
  readonly asks: AskTimeouts;
  shuttingDown = false;
  deadLetters = 0;
  /** Every cell created, while the test kit's auditor tracks this system (else null). */
  tracked: ActorCell<Message>[] | null = null;

  created(cell: ActorCell<Message>): void {
    this.tracked?.push(cell);
  }

  constructor(
    readonly system: SystemView,
    readonly clock: Clock,
    readonly ids: IdGenerator,
    readonly log: Logger,
    readonly askTimeoutMs: number,
    private readonly events: EventStream,
    readonly tracing: Tracing | null,
  ) {
    this.asks = new AskTimeouts(clock);
  }

  deadLetter(reason: DeadLetterReason, message: unknown, recipient: string, error?: unknown): void {
    this.deadLetters++;
    if (this.events.active) {
      this.events.publish(
        error === undefined
          ? { type: 'DeadLetter', reason, message, recipient }
          : { type: 'DeadLetter', reason, message, recipient, error },
      );
    }
  }

  publishStarted(cell: ActorInfo): void {
    if (this.events.active)
      this.events.publish({ type: 'ActorStarted', path: cell.path, id: cell.id, restarts: cell.restarts });
  }

  publishFailed(cell: ActorInfo, error: unknown, phase: 'start' | 'running'): void {
    cell.log.error({ err: error, phase }, phase === 'start' ? 'actor failed to start' : 'actor failed');
    if (this.events.active)
      this.events.publish({ type: 'ActorFailed', path: cell.path, id: cell.id, error, phase });
  }

  publishExited(cell: ActorInfo, reason: ExitReason): void {
    if (this.events.active) {
      this.events.publish({
        type: 'ActorExited',
        path: cell.path,
        id: cell.id,
        restarts: cell.restarts,
        reason,
      });
    }
  }

  publishRestarted(cell: ActorInfo, reason: ExitReason): void {
    const err = reason.type === 'error' ? reason.error : undefined;
    cell.log.warn({ err, restarts: cell.restarts }, 'actor restarted');
    if (this.events.active) {
      this.events.publish({
        type: 'ActorRestarted',
        path: cell.path,
        id: cell.id,
        restarts: cell.restarts,
        reason,
      });
    }
  }

  publishDropped(cell: ActorInfo, message: unknown, policy: OverflowPolicy): void {
    if (this.events.active) this.events.publish({ type: 'MessageDropped', path: cell.path, message, policy });
  }

  publishEscalated(cell: ActorInfo, error: unknown): void {
    cell.log.error({ err: error }, 'supervisor escalated');
    if (this.events.active)
      this.events.publish({ type: 'SupervisorEscalated', path: cell.path, id: cell.id, error });
  }

  publishStopped(cell: ActorInfo, reason: ExitReason): void {
    if (this.events.active)
      this.events.publish({ type: 'ActorStopped', path: cell.path, id: cell.id, reason });
  }
}
