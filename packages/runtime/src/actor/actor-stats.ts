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
 * An actor's counters at one moment (monotonic, except the depths). The ledger, which holds at
 * every moment between two turns:
 *
 * `received = processed + failed + unhandled + evicted + cancelled + deadLettered + mailboxDepth + inFlight`
 *
 * `received` counts every message that entered the mailbox, and the `Terminated` signals handed
 * to the behaviour. `dropped` counts every message a full mailbox turned away or its policy
 * discarded: refused at the door (`mailboxFull` tells, `dropNewest`: never received) and
 * `evicted` (received, then pushed out by `dropOldest` / `latest`). `failed` counts messages
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
  /** Received messages evicted from the mailbox by `dropOldest` / `latest` (also in `dropped`). */
  readonly evicted: number;
  /** Timer messages that were queued, then cancelled or replaced before being handled. */
  readonly cancelled: number;
  /** Received messages that became dead letters: queued or in flight when the actor stopped or its incarnation was abandoned. */
  readonly deadLettered: number;
  /** 1 while an async handler runs, else 0. */
  readonly inFlight: number;
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
