import type { Message } from '@troupe/runtime';
import type { Reminders } from './reminders.js';

/**
 * What an entity's behaviour is given at each activation (Akka's `EntityContext`): who it is,
 * how to passivate itself, and the fencing token its persistent writes carry.
 */
export interface EntityContext<M extends Message> {
  /** The entity type's name. */
  readonly type: string;
  /** This entity's id. */
  readonly entityId: string;
  /** Its shard. */
  readonly shard: number;
  /**
   * The fencing token of this activation: the shard's key and the epoch this node owns it
   * under. Give it to a persistent behaviour (`eventSourced({ …, fence: entity.fence })`) and
   * the store refuses its writes once another node owns the shard with a higher epoch.
   */
  readonly fence: { readonly key: string; readonly epoch: number };
  /**
   * Stops this entity (after the message in hand; what is queued is handled first). A message
   * that arrives meanwhile is kept and starts it again.
   */
  passivate(): void;
  /**
   * Durable reminders of this entity (see the cluster README): they fire on whichever node owns
   * its shard, activating it, even after this node died. Needs `entityType({ reminders: store })`.
   */
  readonly reminders: Reminders;
  /** Type-level only: the entity's message type. */
  readonly _message?: M;
}
