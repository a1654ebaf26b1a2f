import type { ActorRef, AskOptions, Message, TrySendResult, WaitOptions } from '@troupe/runtime';

/** Marks an entity ref (for the codec: it travels as `(type, id)`, never as an incarnation). @internal */
export const ENTITY = Symbol.for('troupe.entity');

/** What an entity ref routes through: its node's region for the type. @internal */
export interface EntityRouter<M extends Message> {
  readonly type: string;
  tell(id: string, message: M): void;
  trySend(id: string, message: M): TrySendResult<M>;
  send(id: string, message: M, options?: WaitOptions): Promise<void>;
  ask<R extends Message>(id: string, build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R>;
}

/**
 * The ref of a sharded entity: `sharding.ref(type, id)`. It names the entity, not an
 * incarnation, so it works forever — across passivation, moves and the loss of nodes — and
 * needs no lookup. It travels inside messages as `troupe://<cluster>@$entity/<type>#<id>`.
 *
 * - `tell`: routed to the node that owns the entity's shard now (started there on demand).
 *   Never throws, never waits. While the shard is moving the message is held (bounded, counted)
 *   and delivered in order once it has started; what cannot be held or delivered is a dead
 *   letter: `mailboxFull` (the hold is full, or the entity's mailbox under `block`),
 *   `unreachable` (no node hosts the type), `invalid`.
 * - `trySend`: `ok` once routed or held; `full` when the hold is full; `closed` when no node
 *   hosts the type. For a local entity, its mailbox's answer.
 * - `send`: resolves once the entity's mailbox accepted it (local), or the owner node's
 *   region accepted it (remote), or it was held.
 * - `ask`: as for any ref (`AskTimeoutError`); a request in flight when its shard moves is sent
 *   again to the new owner within its timeout, so the entity may see it twice.
 * - `ctx.watch` is not supported (an entity comes and goes by design): `TypeError`.
 *
 * @internal Users see it as `ActorRef<M>`.
 */
export class EntityRef<M extends Message> implements ActorRef<M> {
  readonly path: string;
  readonly name: string;
  readonly [ENTITY]: { readonly type: string; readonly id: string };

  constructor(
    private readonly router: EntityRouter<M>,
    readonly id: string,
  ) {
    this.path = `/$entity/${router.type}`;
    this.name = id;
    this[ENTITY] = { type: router.type, id };
  }

  tell(message: M): void {
    this.router.tell(this.id, message);
  }

  trySend<T extends M>(message: T): TrySendResult<T> {
    return this.router.trySend(this.id, message) as TrySendResult<T>;
  }

  send(message: M, options?: WaitOptions): Promise<void> {
    return this.router.send(this.id, message, options);
  }

  ask<R extends Message>(build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R> {
    return this.router.ask(this.id, build, options);
  }

  toString(): string {
    return `entity ${this.router.type}#${this.id}`;
  }

  toJSON(): { $entity: { type: string; id: string } } {
    return { $entity: { type: this.router.type, id: this.id } };
  }
}

/** The entity a value names, if it is an entity ref. @internal */
export function entityOf(value: unknown): { readonly type: string; readonly id: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as { [ENTITY]?: { type: string; id: string } })[ENTITY];
}
