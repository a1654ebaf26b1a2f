import type {
  ActorContext,
  ActorRef,
  AskOptions,
  Message,
  TrySendResult,
  WaitOptions,
} from '@troupe/runtime';
import { EntityUnreachableError } from '../errors.js';
import { entityContext } from './entity-context.js';
import type { EntityRouter } from './entity-ref.js';
import type { ResolvedEntityType } from './entity-type.js';
import {
  entityName,
  isMessage,
  type PassivationReason,
  type RegionHost,
  type RegionMessage,
} from './region-protocol.js';
import { ShardReminders } from './reminders.js';
import { shardOf } from './shard-of.js';
import type { TypeCounters } from './stats.js';

interface Entity<M extends Message> {
  readonly id: string;
  readonly shard: number;
  readonly ref: ActorRef<M>;
  lastActive: number;
  /** Passivating: what arrives meanwhile waits here, then starts it again. */
  held: M[] | null;
  /** Why it is being stopped (for the event), once it is. */
  stopping: PassivationReason | null;
}

interface Held<M extends Message> {
  readonly id: string;
  readonly message: M;
  readonly sent?: () => void;
}

interface PendingAsk<M extends Message> {
  readonly id: string;
  readonly message: M;
  readonly settled: () => boolean;
}

/**
 * One entity type on one node: routes every message for the type (from refs made here, and
 * from other nodes' regions), holds messages for shards that are moving, and hosts the
 * entities of the shards this node owns, as children of its region actor.
 *
 * - **Routing** is synchronous: a local entity gets the message straight from the ref (one
 *   mailbox, no hop through the region); a remote one through the owner's region actor.
 * - **Holding.** A message for a shard that is moving or starting waits in the region, per
 *   shard, in order, bounded by `holdCapacity`: past it a `mailboxFull` dead letter. When the
 *   shard can be reached, held messages go first.
 * - **Activation** on the first message; **passivation** by idleness (`idleMs`), above
 *   `maxActive` (least recently used first) or on request; a message that arrives while its
 *   entity passivates waits and starts it again.
 * - **Asks** in flight are sent again when their shard's owner changes, until they settle.
 *
 * @internal
 */
export class Region<M extends Message> implements EntityRouter<M> {
  private ctx: ActorContext<RegionMessage> | null = null;
  private readonly entities = new Map<string, Entity<M>>();
  private readonly byRef = new Map<ActorRef<Message>, Entity<M>>();
  private readonly held = new Map<number, Held<M>[]>();
  private heldCount = 0;
  private readonly asks = new Map<number, Set<PendingAsk<M>>>();
  /** Shards started here, with their epoch. */
  private readonly started = new Map<number, number>();
  /** The reminders of shards started here (types with a reminder store). */
  private readonly reminders = new Map<number, ShardReminders>();
  /** Shards whose entities are stopping here (a handoff or a release), and who waits for it. */
  private readonly stopping = new Map<number, Set<() => void>>();

  constructor(
    readonly type: string,
    readonly spec: ResolvedEntityType<M> | null,
    private readonly host: RegionHost,
    readonly counters: TypeCounters,
  ) {}

  /** Whether this node hosts the type (else it only routes: a proxy). */
  get hosting(): boolean {
    return this.spec !== null;
  }

  /** The region actor's behaviour (hosts only): deliveries from other nodes, and signals. */
  attach(ctx: ActorContext<RegionMessage>): void {
    this.ctx = ctx;
    const idle = this.spec?.idleMs;
    if (idle !== undefined) ctx.timers.startPeriodic('idle', { type: '$shard.tick' }, Math.max(10, idle / 2));
  }

  /** A message for the region actor. */
  receive(m: RegionMessage): void {
    if (m.type === '$shard.deliver') {
      this.counters.received++;
      this.route(m.id, m.m as M, m.h);
    } else if (m.type === '$shard.passivate') {
      const e = this.entities.get(m.id);
      if (e !== undefined) this.passivate(e, 'requested');
    } else this.passivateIdle();
  }

  // ---- the router of refs ----------------------------------------------------------------

  tell(id: string, message: M): void {
    if (!isMessage(message)) {
      this.host.system.deadLetter('invalid', message, this.address(id));
      return;
    }
    this.counters.sent++;
    this.route(id, message, 0);
  }

  trySend(id: string, message: M): TrySendResult<M> {
    if (!isMessage(message))
      throw new TypeError(`message to ${this.address(id)} must be an object with a string "type"`);
    const shard = shardOf(id, this.host.shards);
    const route = this.host.route(this.type, shard);
    if (route.kind === 'nowhere') return { ok: false, reason: 'closed', value: message } as TrySendResult<M>;
    if (route.kind === 'local' && !this.held.has(shard)) {
      const e = this.entities.get(id) ?? this.activate(id, shard, route.epoch);
      if (e.held === null) {
        const r = e.ref.trySend(message);
        if (r.ok) {
          this.counters.sent++;
          this.counters.delivered++;
          this.touch(e);
        }
        return r as TrySendResult<M>;
      }
    }
    if (route.kind !== 'remote' && this.heldCount >= this.host.holdCapacity)
      return { ok: false, reason: 'full', value: message } as TrySendResult<M>;
    this.counters.sent++;
    this.route(id, message, 0);
    return { ok: true };
  }

  async send(id: string, message: M, options?: WaitOptions): Promise<void> {
    if (!isMessage(message))
      throw new TypeError(`message to ${this.address(id)} must be an object with a string "type"`);
    const shard = shardOf(id, this.host.shards);
    const route = this.host.route(this.type, shard);
    if (route.kind === 'nowhere') throw new EntityUnreachableError(this.type, id);
    if (route.kind === 'local' && !this.held.has(shard)) {
      const e = this.entities.get(id) ?? this.activate(id, shard, route.epoch);
      if (e.held === null) {
        this.counters.sent++;
        this.touch(e);
        await e.ref.send(message, options);
        this.counters.delivered++;
        return;
      }
    }
    if (route.kind === 'remote' && !this.held.has(shard)) {
      this.counters.sent++;
      this.counters.forwarded++;
      await route.region.send({ type: '$shard.deliver', id, m: message, h: 1 }, options);
      return;
    }
    this.counters.sent++;
    await new Promise<void>((resolve) => this.route(id, message, 0, resolve));
  }

  ask<R extends Message>(id: string, build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R> {
    const timeoutMs = options?.timeoutMs ?? this.host.system.askTimeoutMs;
    if (typeof build !== 'function') return Promise.reject(new TypeError('ask: build must be a function'));
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)
      return Promise.reject(
        new RangeError(`ask: timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
      );
    if (this.host.route(this.type, shardOf(id, this.host.shards)).kind === 'nowhere')
      return Promise.reject(new EntityUnreachableError(this.type, id));
    const { ref, promise, fail } = this.host.askReply<R>(this.address(id), timeoutMs);
    let message: M;
    try {
      message = build(ref);
      if (!isMessage(message)) throw new TypeError('ask: build must return a message');
    } catch (error) {
      fail(error);
      return promise;
    }
    const shard = shardOf(id, this.host.shards);
    let done = false;
    const pending: PendingAsk<M> = { id, message, settled: () => done };
    let set = this.asks.get(shard);
    if (set === undefined) {
      set = new Set();
      this.asks.set(shard, set);
    }
    set.add(pending);
    const forget = () => {
      done = true;
      this.asks.get(shard)?.delete(pending);
    };
    promise.then(forget, forget);
    this.counters.sent++;
    this.route(id, message, 0);
    return promise;
  }

  // ---- routing ------------------------------------------------------------------------

  /** Routes one message: to its local entity, to its owner's region, or into the hold. */
  route(id: string, message: M, hops: number, sent?: () => void): void {
    const shard = shardOf(id, this.host.shards);
    const route = this.host.route(this.type, shard);
    if (route.kind === 'nowhere') {
      this.counters.deadLettered++;
      this.host.system.deadLetter('unreachable', message, this.address(id));
      sent?.();
      return;
    }
    // Held messages of a shard go first, in order: one more waits behind them.
    if (
      route.kind === 'hold' ||
      this.held.has(shard) ||
      this.stopping.has(shard) ||
      (route.kind === 'remote' && hops > 2)
    ) {
      this.hold(shard, { id, message, ...(sent === undefined ? {} : { sent }) });
      return;
    }
    if (route.kind === 'remote') {
      this.counters.forwarded++;
      route.region.tell({ type: '$shard.deliver', id, m: message, h: hops + 1 });
      sent?.();
      return;
    }
    this.deliver(id, shard, route.epoch, message);
    sent?.();
  }

  /** The shard can be reached now (started here, or its owner known): its held messages go, in order. */
  release(shard: number): void {
    const queue = this.held.get(shard);
    if (queue === undefined) return;
    const route = this.host.route(this.type, shard);
    if (route.kind === 'hold' || this.stopping.has(shard)) return;
    this.held.delete(shard);
    this.heldCount -= queue.length;
    this.counters.held = this.heldCount;
    for (const h of queue) this.route(h.id, h.message, 0, h.sent);
  }

  /** The shard's owner changed: asks still waiting for a reply go to the new one. */
  moved(shard: number): void {
    const set = this.asks.get(shard);
    if (set === undefined) return;
    for (const pending of [...set]) {
      if (pending.settled()) set.delete(pending);
      else {
        this.counters.resent++;
        this.route(pending.id, pending.message, 0);
      }
    }
  }

  private hold(shard: number, h: Held<M>): void {
    if (this.heldCount >= this.host.holdCapacity) {
      this.counters.deadLettered++;
      this.host.system.deadLetter('mailboxFull', h.message, this.address(h.id));
      h.sent?.();
      return;
    }
    let queue = this.held.get(shard);
    if (queue === undefined) {
      queue = [];
      this.held.set(shard, queue);
    }
    queue.push(h);
    this.heldCount++;
    this.counters.held = this.heldCount;
    this.counters.heldTotal++;
  }

  // ---- the entities of started shards ---------------------------------------------------

  /** A shard starts here with `epoch` (its claim won; fenced). */
  startShard(shard: number, epoch: number): void {
    this.started.set(shard, epoch);
    this.counters.shards = this.started.size;
    const store = this.spec?.reminders;
    if (store !== undefined) {
      this.reminders.set(
        shard,
        new ShardReminders(
          store,
          this.type,
          shard,
          epoch,
          (id, message) => {
            if (this.started.get(shard) !== epoch || this.stopping.has(shard)) return;
            this.counters.reminders++;
            this.deliver(id, shard, epoch, message as unknown as M, false);
          },
          (error) => this.host.system.log.warn({ err: error, shard, type: this.type }, 'sharding: reminders'),
        ),
      );
    }
  }

  /** Remember entities: starts `id` (of a shard just started here) without a message. */
  wake(id: string): void {
    const shard = shardOf(id, this.host.shards);
    const epoch = this.started.get(shard);
    if (epoch === undefined || this.entities.has(id) || this.stopping.has(shard)) return;
    this.activate(id, shard, epoch);
  }

  /** Whether the shard is started here. */
  isStarted(shard: number): boolean {
    return this.started.has(shard);
  }

  /**
   * Stops the shard's entities: gracefully (each finishes what its mailbox holds; messages that
   * arrive meanwhile are held for the next owner) or, when fenced, at once. Resolves once all
   * have stopped. The shard no longer routes here.
   */
  async stopShard(shard: number, reason: 'handoff' | 'fenced'): Promise<void> {
    if (!this.started.has(shard)) return;
    this.reminders.get(shard)?.stop();
    this.reminders.delete(shard);
    const done = new Promise<void>((resolve) => {
      let waiters = this.stopping.get(shard);
      if (waiters === undefined) {
        waiters = new Set();
        this.stopping.set(shard, waiters);
      }
      waiters.add(resolve);
    });
    const members = [...this.entities.values()].filter((e) => e.shard === shard);
    for (const e of members) {
      // What waited for a passivating entity moves with the shard.
      if (e.held !== null) for (const message of e.held) this.hold(shard, { id: e.id, message });
      e.held = null;
      this.stopEntity(e, reason, reason === 'fenced' ? 0 : undefined);
    }
    this.checkStopped(shard);
    await done;
  }

  /** The node leaves: what is held here can no longer be delivered (dead letters, counted). */
  abandonHeld(): void {
    for (const [shard, queue] of [...this.held]) {
      this.held.delete(shard);
      for (const h of queue) {
        this.counters.deadLettered++;
        this.host.system.deadLetter('unreachable', h.message, this.address(h.id));
        h.sent?.();
      }
    }
    this.heldCount = 0;
    this.counters.held = 0;
  }

  /** The local entity's ref (tests, tools). */
  entityRef(id: string): ActorRef<M> | undefined {
    return this.entities.get(id)?.ref;
  }

  /** An entity stopped (passivated, failed, or stopped with its shard). */
  terminated(ref: ActorRef<Message>, failed: boolean): void {
    const e = this.byRef.get(ref);
    if (e === undefined) return;
    this.byRef.delete(ref);
    this.entities.delete(e.id);
    this.counters.active = this.entities.size;
    const reason: PassivationReason = failed || e.stopping === null ? 'failed' : e.stopping;
    this.counters.passivations++;
    if (this.spec?.remember === true && reason !== 'handoff' && reason !== 'fenced')
      this.host.remember(e.id, e.shard, false);
    this.host.publish({
      type: 'EntityPassivated',
      entityType: this.type,
      id: e.id,
      node: this.host.node,
      reason,
    });
    const waiting = e.held;
    if (waiting !== null && waiting.length > 0 && this.started.has(e.shard) && !this.stopping.has(e.shard)) {
      // A message came while it passivated: it starts again.
      const epoch = this.started.get(e.shard) as number;
      for (const message of waiting) this.deliver(e.id, e.shard, epoch, message);
    } else if (waiting !== null) {
      for (const message of waiting) this.hold(e.shard, { id: e.id, message });
    }
    this.checkStopped(e.shard);
  }

  private deliver(id: string, shard: number, epoch: number, message: M, counted = true): void {
    let e = this.entities.get(id);
    if (e === undefined) e = this.activate(id, shard, epoch);
    if (e.held !== null) {
      e.held.push(message);
      return;
    }
    this.touch(e);
    if (counted) this.counters.delivered++;
    e.ref.tell(message);
  }

  private activate(id: string, shard: number, epoch: number): Entity<M> {
    const ctx = this.ctx as ActorContext<RegionMessage>;
    const spec = this.spec as ResolvedEntityType<M>;
    const self = ctx.self;
    const entity = entityContext<M>(this.type, id, shard, epoch, self, (s, e) => this.remindersOf(s, e));
    const ref = ctx.spawn(spec.behavior(entity), {
      name: entityName(id),
      mailbox: { capacity: spec.mailboxCapacity },
    });
    ctx.watch(ref);
    const e: Entity<M> = { id, shard, ref, lastActive: Date.now(), held: null, stopping: null };
    this.entities.set(id, e);
    this.byRef.set(ref as ActorRef<Message>, e);
    this.counters.activations++;
    this.counters.active = this.entities.size;
    if (spec.remember) this.host.remember(id, shard, true);
    this.host.publish({ type: 'EntityActivated', entityType: this.type, id, node: this.host.node });
    const max = spec.maxActive;
    if (max !== undefined && this.activeCount() > max) this.passivateLeastRecent(e);
    return e;
  }

  private async remindersOf(shard: number, epoch: number): Promise<ShardReminders> {
    if (this.spec?.reminders === undefined)
      throw new TypeError(`entity type ${this.type} has no reminder store: entityType({ reminders: store })`);
    const r = this.reminders.get(shard);
    if (r === undefined || this.started.get(shard) !== epoch)
      throw new Error(`shard ${this.type}/${shard} moved away`);
    return r;
  }

  /** Most recently used last (the map keeps insertion order). */
  private touch(e: Entity<M>): void {
    e.lastActive = Date.now();
    this.entities.delete(e.id);
    this.entities.set(e.id, e);
  }

  private activeCount(): number {
    let n = 0;
    for (const e of this.entities.values()) if (e.held === null && e.stopping === null) n++;
    return n;
  }

  private passivateLeastRecent(except: Entity<M>): void {
    for (const e of this.entities.values()) {
      if (e === except || e.held !== null || e.stopping !== null) continue;
      this.passivate(e, 'maxActive');
      return;
    }
  }

  private passivateIdle(): void {
    const idle = this.spec?.idleMs;
    if (idle === undefined) return;
    const before = Date.now() - idle;
    for (const e of [...this.entities.values()]) {
      if (e.lastActive > before) break; // least recent first: the rest are newer
      if (e.held === null && e.stopping === null) this.passivate(e, 'idle');
    }
  }

  private passivate(e: Entity<M>, reason: 'idle' | 'maxActive' | 'requested'): void {
    if (e.held !== null || e.stopping !== null) return;
    e.held = [];
    this.stopEntity(e, reason);
  }

  private stopEntity(e: Entity<M>, reason: PassivationReason, timeoutMs?: number): void {
    e.stopping = reason;
    void this.host.system.stop(e.ref, timeoutMs === undefined ? {} : { timeoutMs });
  }

  private checkStopped(shard: number): void {
    const waiters = this.stopping.get(shard);
    if (waiters === undefined) return;
    for (const e of this.entities.values()) if (e.shard === shard) return;
    this.stopping.delete(shard);
    this.started.delete(shard);
    this.counters.shards = this.started.size;
    for (const resolve of waiters) resolve();
  }

  private address(id: string): string {
    return `entity ${this.type}#${id}`;
  }
}
