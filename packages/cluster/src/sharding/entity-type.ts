import { type Behavior, type Message, OptionChecks } from '@troupe/runtime';
import type { EntityContext } from './entity-context.js';
import type { ReminderStore } from './reminders.js';

/** When an entity is stopped to save memory (it starts again on its next message). */
export interface PassivationOptions {
  /** Stop an entity that had no message for this long, in ms (default: never by idleness). */
  readonly idleMs?: number;
  /** At most this many active entities of the type per node: above it, the least recently used stops. */
  readonly maxActive?: number;
}

/** Options of {@link entityType}. */
export interface EntityTypeOptions<M extends Message> {
  /**
   * The behaviour of one entity, made at each activation (on its first message, after a move,
   * after passivation). `entity` names it and lets it passivate itself, schedule reminders, and
   * fence its writes (`entity.fence`, for persistent behaviours).
   */
  readonly behavior: (entity: EntityContext<M>) => Behavior<M>;
  readonly passivation?: PassivationOptions;
  /**
   * Remember entities: a shard's active entities start again on the node that takes the shard
   * over (after a move, a handoff or a node's death) without waiting for a message. Default false.
   */
  readonly remember?: boolean;
  /** Each entity's mailbox capacity (default 1024); a full one refuses a tell (`mailboxFull`). */
  readonly mailboxCapacity?: number;
  /**
   * The store persistent entities of this type write to (any `PersistenceStore` of
   * `@troupe/persistence`). When a node takes a shard it raises the shard's fence in this store to
   * its new epoch before starting any entity, so the previous owner — paused, partitioned,
   * unaware — can never write again, even for entities the new owner has not started yet. Give
   * each entity `entity.fence` for its own writes too.
   */
  readonly fencing?: Fencing;
  /**
   * The store durable reminders of this type live in (any `PersistenceStore`): needed for
   * `entity.reminders`. Reminders are written with the shard's fence, so use the same store as
   * `fencing` (or a store that supports fences).
   */
  readonly reminders?: ReminderStore;
}

/** What fencing needs of a store: raise a key's fence, and say which epoch is in force after. */
export interface Fencing {
  fence(key: string, epoch: number): Promise<number>;
}

/**
 * A kind of sharded entity (Akka's `EntityTypeKey` with its behaviour, an Orleans grain class):
 * entities of it are addressed by `(type, id)` from any node, live on whichever node owns
 * their shard, start on demand, and never run twice at once. Pass it to `startSharding` on the
 * nodes that host it, and use `sharding.ref(type, id)` anywhere.
 */
export interface EntityType<M extends Message> extends AnyEntityType {
  readonly name: string;
  /** @internal */
  readonly options: ResolvedEntityType<M>;
  /** Type-level only: the entity's message type. */
  readonly _message?: M;
}

/** An entity type of any message type (what `startSharding` takes a list of). */
export interface AnyEntityType {
  readonly name: string;
  /** @internal */
  readonly options: unknown;
}

/** @internal */
export interface ResolvedEntityType<M extends Message> {
  readonly behavior: (entity: EntityContext<M>) => Behavior<M>;
  readonly idleMs: number | undefined;
  readonly maxActive: number | undefined;
  readonly remember: boolean;
  readonly mailboxCapacity: number;
  readonly fencing: Fencing | undefined;
  readonly reminders: ReminderStore | undefined;
}

const NAME = /^[A-Za-z0-9_-]{1,48}$/;

/**
 * Declares an entity type. `name` (1 to 48 letters, digits, `-`, `_`) must be the same on every
 * node. Every bad option is reported at once (`TypeError`/`RangeError`, or `InvalidOptionsError`).
 */
export function entityType<M extends Message>(name: string, options: EntityTypeOptions<M>): EntityType<M> {
  const checks = new OptionChecks('entityType');
  checks.run(() => {
    if (typeof name !== 'string' || !NAME.test(name))
      throw new TypeError(
        `entityType: name must be 1 to 48 letters, digits, '-' or '_'; got ${JSON.stringify(String(name)).slice(0, 60)}`,
      );
  }, undefined);
  const o = (options ?? {}) as Partial<EntityTypeOptions<M>>;
  const behavior = checks.run(
    () => {
      if (typeof o.behavior !== 'function')
        throw new TypeError('entityType: behavior must be a function (entity) => Behavior');
      return o.behavior;
    },
    (() => undefined) as unknown as ResolvedEntityType<M>['behavior'],
  );
  const p = checks.run(() => {
    const v = o.passivation ?? {};
    if (v === null || typeof v !== 'object') throw new TypeError('entityType: passivation must be an object');
    return v;
  }, {} as PassivationOptions);
  const idleMs = checks.run(() => {
    if (p.idleMs === undefined) return undefined;
    if (typeof p.idleMs !== 'number' || !Number.isFinite(p.idleMs) || p.idleMs <= 0)
      throw new RangeError(
        `entityType: passivation.idleMs must be a finite number > 0; got ${String(p.idleMs)}`,
      );
    return p.idleMs;
  }, undefined);
  const maxActive = checks.run(() => integer('passivation.maxActive', p.maxActive), undefined);
  const remember = checks.run(() => {
    if (o.remember !== undefined && typeof o.remember !== 'boolean')
      throw new TypeError('entityType: remember must be a boolean');
    return o.remember ?? false;
  }, false);
  const mailboxCapacity = checks.run(() => integer('mailboxCapacity', o.mailboxCapacity) ?? 1024, 1024);
  const fencing = checks.run(() => {
    if (o.fencing === undefined) return undefined;
    if (o.fencing === null || typeof (o.fencing as Partial<Fencing>).fence !== 'function')
      throw new TypeError('entityType: fencing must be a store with fence(key, epoch)');
    return o.fencing;
  }, undefined);
  const reminders = checks.run(() => {
    if (o.reminders === undefined) return undefined;
    const r = o.reminders as Partial<ReminderStore> | null;
    if (r === null || typeof r.loadState !== 'function' || typeof r.write !== 'function')
      throw new TypeError('entityType: reminders must be a store with loadState and write');
    return o.reminders;
  }, undefined);
  checks.done();
  return Object.freeze({
    name,
    options: Object.freeze({ behavior, idleMs, maxActive, remember, mailboxCapacity, fencing, reminders }),
  });
}

function integer(field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`entityType: ${field} must be an integer >= 1; got ${String(value)}`);
  return value;
}
