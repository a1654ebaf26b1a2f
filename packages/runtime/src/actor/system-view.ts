import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { ActorStats, ActorTreeNode } from './actor-stats.js';
import type { Behavior } from './behavior.js';
import type { DeadLetterReason, EventStream } from './events.js';
import type { SpawnOptions } from './spawn-options.js';

/**
 * What an actor sees of its actor system (`ctx.system`): the `ActorSystem` class implements it.
 * Declared here, below the system, so the actor layer never depends on the system class
 * (Pekko's `ActorSystem` / `ActorSystemImpl` split).
 */
export interface SystemView {
  /** Names the system in logs and in actor addresses. */
  readonly name: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The system event stream (see `SystemEvent`). */
  readonly events: EventStream;
  /** Dead letters published since start. */
  readonly deadLetters: number;
  /** Starts a top-level actor under `/user`. */
  spawn<M extends Message>(behavior: Behavior<M>, options?: SpawnOptions): ActorRef<M>;
  /** Stops an actor gracefully (see `ActorSystem.stop`). */
  stop(ref: ActorAddress, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** The live actor at `path`, if any. */
  lookup(path: string): ActorRef<Message> | undefined;
  /** The counters of a local actor (also after it stopped); undefined for anything else. */
  inspect(ref: ActorAddress): ActorStats | undefined;
  /** A serializable snapshot of the tree under `/user`. */
  tree(): ActorTreeNode;
  /**
   * Publishes a dead letter for `recipient` (a path or address): for libraries whose actor fails
   * one message without failing itself (a user callback threw for it), and for transports.
   */
  deadLetter(reason: DeadLetterReason, message: unknown, recipient: string, error?: unknown): void;
}
