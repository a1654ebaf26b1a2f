import type { ActorRef, Message } from '@troupe/runtime';
import type { Reminders, ShardReminders } from './reminders.js';

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
   * under; a higher epoch means a later owner. NOTE: the persistence stores do not take a fence
   * with their writes yet (sharding is in progress, issue 23): today it identifies the
   * activation, and `entityType({ fencing })` raises it at shard start on a store that has
   * `fence(key, epoch)`.
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

/**
 * @internal The context of entity `id` activated in `shard` under `epoch`, in the region actor
 * `region`. Reminders go to the
 * shard's reminders of that epoch (`remindersOf` rejects once the shard moved away).
 */
export function entityContext<M extends Message>(
  type: string,
  id: string,
  shard: number,
  epoch: number,
  region: ActorRef<{ readonly type: '$shard.passivate'; readonly id: string }>,
  remindersOf: (shard: number, epoch: number) => Promise<ShardReminders>,
): EntityContext<M> {
  return {
    type,
    entityId: id,
    shard,
    fence: { key: `${type}/${shard}`, epoch },
    passivate: () => region.tell({ type: '$shard.passivate', id }),
    reminders: {
      schedule: (name, when) => remindersOf(shard, epoch).then((r) => r.schedule(id, name, when)),
      cancel: (name) => remindersOf(shard, epoch).then((r) => r.cancel(id, name)),
    },
  };
}
