import type { BoundedQueue } from '../../channel/bounded-queue.js';
import { QueueChannel, type QueueConsumer } from '../../channel/queue-channel.js';
import type { Message } from '../actor-ref.js';
import type { Terminated } from '../behavior.js';
import type { ExitReason } from '../exit-reason.js';
import type { ActorCell } from './actor-cell.js';

/** A system-lane message: handled before any user message. */
export type SystemMessage =
  /**
   * End incarnation number `incarnation` (the cell's `restarts` when asked) with `reason` (ctx.exit, ctx.stop(), `system.stop`): an
   * exit its supervisor answers (a permanent child comes back, as in OTP); without one it stops.
   * Ignored if that incarnation has already ended (a forced exit, a restart meanwhile).
   */
  | { readonly kind: 'exit'; readonly reason: ExitReason; readonly incarnation: number }
  | { readonly kind: 'terminated'; readonly signal: Terminated }
  | { readonly kind: 'childExited'; readonly child: ActorCell<Message>; readonly reason: ExitReason };

/**
 * An actor's mailbox: two lanes (ractor's ports). The user lane is the channels' own bounded
 * `QueueChannel` (capacity, overflow policy, parked senders); the system lane (stop requests,
 * `Terminated`, children's exits) is drained first and is not bounded by the capacity: the
 * runtime puts at most one entry per watched actor, child exit or stop request in it.
 *
 * A subclass rather than a wrapper, so an actor pays for no extra object.
 *
 * @internal Not exported from the package.
 */
export class Mailbox<T> extends QueueChannel<T> {
  private system: SystemMessage[] | null = null;

  constructor(queue: BoundedQueue<T>, consumer: QueueConsumer) {
    super(queue, consumer);
  }

  /** Whether a system message waits. */
  get hasSystem(): boolean {
    return this.system !== null && this.system.length > 0;
  }

  pushSystem(message: SystemMessage): void {
    this.system ??= [];
    this.system.push(message);
  }

  /** The oldest system message; the caller checked {@link hasSystem}. */
  shiftSystem(): SystemMessage {
    return (this.system as SystemMessage[]).shift() as SystemMessage;
  }

  /** Forgets the system lane (the actor stopped). */
  clearSystem(): void {
    this.system = null;
  }
}
