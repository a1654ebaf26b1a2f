import type { OverflowPolicy } from '../channel/overflow.js';
import type { ExitReason } from './exit-reason.js';

/** Why a message could not be delivered or processed. */
export type DeadLetterReason =
  /** Sent to an actor that is stopped (or stopped before processing it, or while handling it). */
  | 'stopped'
  /** The behaviour did not accept it in its current state (an XState event with no transition). */
  | 'unhandled'
  /** `tell` to a full mailbox under the `block` policy: a tell cannot wait. */
  | 'mailboxFull'
  /** Discarded by the mailbox's overflow policy (`dropNewest`, `dropOldest`, `latest`). */
  | 'dropped'
  /** A reply to an `ask` that had already timed out. */
  | 'lateReply'
  /** Still queued (or still being handled) when its actor was stopped hard by system shutdown. */
  | 'shutdown'
  /** The message whose handler failed. */
  | 'failed'
  /**
   * Not a message at all: not an object with a string `type` (from untyped code); or, in a
   * cluster, bytes from the wire that do not decode, or a message the codec cannot encode.
   */
  | 'invalid'
  /** In a cluster: for an actor on a node that is down, unknown or unreachable. */
  | 'unreachable';

/** A message that went nowhere, with why. Nothing is lost silently: each one is published. */
export interface DeadLetter {
  readonly type: 'DeadLetter';
  readonly reason: DeadLetterReason;
  readonly message: unknown;
  /** Path of the intended recipient. */
  readonly recipient: string;
  /** The failure, for reason `failed`. */
  readonly error?: unknown;
}

/**
 * An incarnation of an actor started successfully: at spawn, and after each successful
 * restart (then followed by `ActorRestarted`). A start that fails is an `ActorFailed` with
 * `phase: 'start'` instead.
 */
export interface ActorStarted {
  readonly type: 'ActorStarted';
  readonly path: string;
  readonly id: string;
  /** Restarts of this actor before this incarnation (0 for the first). */
  readonly restarts: number;
}

/**
 * An incarnation ended: it failed, exited, was taken down by a sibling's group restart
 * (`shutdown`), or the actor stopped (then followed by `ActorStopped`). One per incarnation
 * that started, so `ActorStarted` and `ActorExited` pair up exactly.
 */
export interface ActorExited {
  readonly type: 'ActorExited';
  readonly path: string;
  readonly id: string;
  readonly restarts: number;
  readonly reason: ExitReason;
}

export interface ActorStopped {
  readonly type: 'ActorStopped';
  readonly path: string;
  readonly id: string;
  readonly reason: ExitReason;
}

/**
 * An actor failed: while `running` (a handler threw or rejected, its machine errored, a
 * supervisor gave up), or at `start` (its factory, behaviour start or `afterStart` threw: the
 * incarnation never ran). Published before its supervisor decides.
 */
export interface ActorFailed {
  readonly type: 'ActorFailed';
  readonly path: string;
  readonly id: string;
  readonly error: unknown;
  readonly phase: 'start' | 'running';
}

/** A supervisor restarted an actor in place (same ref, mailbox kept) and the new incarnation started. */
export interface ActorRestarted {
  readonly type: 'ActorRestarted';
  readonly path: string;
  readonly id: string;
  /** Restarts of this actor so far, this one included. */
  readonly restarts: number;
  /** Why its previous incarnation ended. */
  readonly reason: ExitReason;
}

/**
 * A supervisor exceeded its restart intensity: it stopped its children and failed itself,
 * passing the failure up to its own parent.
 */
export interface SupervisorEscalated {
  readonly type: 'SupervisorEscalated';
  readonly path: string;
  readonly id: string;
  readonly error: unknown;
}

/**
 * A full mailbox turned a message away (a `tell` under `block`) or its overflow policy
 * discarded one. Always followed by the matching `DeadLetter` (`mailboxFull` or `dropped`), so
 * dead-letter accounting stays complete; this event adds the policy, for dashboards.
 */
export interface MessageDropped {
  readonly type: 'MessageDropped';
  readonly path: string;
  readonly message: unknown;
  readonly policy: OverflowPolicy;
}

/** A cluster node joined (or this node saw it for the first time, or it came back). */
export interface NodeUp {
  readonly type: 'NodeUp';
  readonly node: string;
}

/** A cluster node left gracefully (`leave()` or shutdown). */
export interface NodeLeft {
  readonly type: 'NodeLeft';
  readonly node: string;
}

/** The failure detector declared a cluster node down (it stopped answering). */
export interface NodeDown {
  readonly type: 'NodeDown';
  readonly node: string;
  /** How long it had been silent, in ms. */
  readonly silentMs: number;
}

/**
 * Messages this node sent to cluster node `node` whose fate is unknown: the node was declared
 * down or left before it acknowledged them (while both nodes live, the link resends what did
 * not arrive, so this does not happen). Like `Lagged`, a count, never silence.
 */
export interface MessagesLost {
  readonly type: 'MessagesLost';
  /** The peer they were sent to. */
  readonly node: string;
  readonly count: number;
}

/** Sharding (`@troupe/cluster`): a shard of an entity type started on `node`, owned under `epoch`. */
export interface ShardStarted {
  readonly type: 'ShardStarted';
  readonly entityType: string;
  readonly shard: number;
  readonly epoch: number;
  readonly node: string;
}

/**
 * Sharding: a shard stopped on `node`: handed to `to` (a rebalance), released (`to: null`, the
 * node is leaving), or fenced (its lease could not be renewed in time: it stopped its entities
 * before another node could take the shard).
 */
export interface ShardHandedOff {
  readonly type: 'ShardHandedOff';
  readonly entityType: string;
  readonly shard: number;
  readonly node: string;
  readonly to: string | null;
  readonly reason: 'rebalance' | 'leaving' | 'fenced';
}

/** Sharding: an entity started on `node` (its first message, a move, after passivation). */
export interface EntityActivated {
  readonly type: 'EntityActivated';
  readonly entityType: string;
  readonly id: string;
  readonly node: string;
}

/** Sharding: an entity stopped on `node`, and why; its next message starts it again. */
export interface EntityPassivated {
  readonly type: 'EntityPassivated';
  readonly entityType: string;
  readonly id: string;
  readonly node: string;
  readonly reason: 'idle' | 'maxActive' | 'requested' | 'handoff' | 'fenced' | 'failed';
}

/** Events a cluster transport publishes on `system.events` (see `ActorSystem.publish`). */
export type ClusterEvent =
  | NodeUp
  | NodeLeft
  | NodeDown
  | MessagesLost
  | ShardStarted
  | ShardHandedOff
  | EntityActivated
  | EntityPassivated;

/** Every event the runtime (or a cluster transport on it) publishes on `system.events`. */
export type SystemEvent =
  | ActorStarted
  | ActorExited
  | ActorStopped
  | ActorFailed
  | ActorRestarted
  | SupervisorEscalated
  | MessageDropped
  | DeadLetter
  | ClusterEvent;

/**
 * The system's event stream. Listeners run synchronously, in subscription order, when an event
 * is published; a listener that throws is logged and does not disturb the others. Publishing
 * costs one length check when nobody listens.
 */
export class EventStream {
  #listeners: ((event: SystemEvent) => void)[] = [];

  constructor(private readonly onListenerError: (error: unknown, event: SystemEvent) => void) {}

  /** Calls `listener` for every event from now on. Returns the function that unsubscribes. */
  subscribe(listener: (event: SystemEvent) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Whether anyone listens (lets publishers skip building events). */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** @internal */
  publish(event: SystemEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
