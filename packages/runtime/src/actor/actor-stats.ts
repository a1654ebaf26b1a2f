import type { OverflowPolicy } from '../channel/overflow.js';

/**
 * - `running`: handling messages.
 * - `suspended`: exited (failed, or stopped itself) and waiting for its supervisor's decision or
 *   a restart backoff; messages keep queuing in its mailbox.
 * - `stopping`: draining its mailbox before it stops (graceful shutdown); new messages are refused.
 * - `stopped`: for good. Its ref stays valid: messages to it are dead letters.
 */
export type ActorStatus = 'running' | 'suspended' | 'stopping' | 'stopped';

/**
 * An actor's counters at one moment. Every message that entered the mailbox (`received`, which
 * also counts the `Terminated` signals handed to its behaviour) is eventually `processed`,
 * `failed`, `unhandled`, evicted by the policy (in `dropped`), still queued (`mailboxDepth`), or
 * a dead letter when the actor stopped. `dropped` also counts messages refused at the door
 * (`mailboxFull` tells, `dropNewest`), which were never received. `failed` counts messages
 * whose handling threw or rejected; a failure outside any message (at start, a machine's
 * invoked promise, a supervisor giving up) shows as an `ActorFailed` event, not here.
 */
export interface ActorStats {
  readonly path: string;
  readonly id: string;
  readonly status: ActorStatus;
  readonly received: number;
  readonly processed: number;
  readonly failed: number;
  readonly unhandled: number;
  readonly dropped: number;
  readonly mailboxDepth: number;
  /** The mailbox's capacity (user messages). */
  readonly mailboxCapacity: number;
  /** The mailbox's overflow policy (what a full mailbox does with a new message). */
  readonly mailboxOverflow: OverflowPolicy;
  readonly restarts: number;
}

/** A node of `system.tree()`: an actor's counters, its kind and its children. */
export interface ActorTreeNode extends ActorStats {
  readonly name: string;
  readonly kind: 'worker' | 'supervisor';
  /** What the behaviour chose to show (`receive`'s `describe` option), e.g. a topic's subscriptions. */
  readonly details?: unknown;
  readonly children: readonly ActorTreeNode[];
}
