import { type ActorRef, type Message, receive } from '@troupe/runtime';
import type { ClusterNode } from '../node.js';
import { serviceKey } from '../service-key.js';
import { plan } from './allocation.js';
import type { ResolvedSharding, Sharding, ShardingOptions } from './api.js';
import { validateShardingOptions } from './api.js';
import { EntityRef } from './entity-ref.js';
import type { AnyEntityType, EntityType } from './entity-type.js';
import { Placement, type ShardRecord } from './placement.js';
import { Region } from './region.js';
import type { RegionEvent, RegionMessage, Route } from './region-protocol.js';
import { newTypeCounters, type ShardingStats, type TypeCounters } from './stats.js';

/**
 * Starts sharded entities on `node` (Akka Cluster Sharding, Orleans grains): entities
 * addressed by `(type, id)`, placed by the cluster on the nodes that host their type, started
 * on demand, moved when nodes come and go, never running twice at once. Placement lives in a
 * JetStream key-value bucket (the server needs `-js`). Resolves once this node holds its lease
 * and sees the placement; rejects with a `TypeError`/`RangeError`/`InvalidOptionsError` naming
 * bad options, or when another node uses a different number of shards for a type.
 */
export async function startSharding(node: ClusterNode, options: ShardingOptions): Promise<Sharding> {
  const { types, hosted, resolved } = validateShardingOptions(options);
  const placement = await Placement.open(node.connection, {
    cluster: node.cluster,
    node: node.name,
    incarnation: node.incarnation,
    types: hosted.map((t) => t.name),
    shards: resolved.shards,
    leaseMs: resolved.leaseMs,
    skewMs: resolved.skewMs,
    replicas: resolved.replicas,
  });
  const conflict = placement.shardCountConflict(
    types.map((t) => t.name),
    resolved.shards,
    Date.now(),
  );
  if (conflict !== undefined) {
    await placement.close();
    throw new TypeError(
      `startSharding: node ${conflict.node} uses ${conflict.shards} shards for ${conflict.type}; this node ${resolved.shards}: every node must use the same number`,
    );
  }
  const sharding = new ShardingNode(node, placement, types, hosted, resolved);
  await sharding.start();
  return sharding;
}

class ShardingNode implements Sharding {
  private readonly regions = new Map<string, Region<Message>>();
  private readonly counters = new Map<string, TypeCounters>();
  private readonly remoteRegions = new Map<string, Map<string, ActorRef<RegionMessage>>>();
  /** Shards being claimed, or handed off, by this node right now (`type.shard`). */
  private readonly claiming = new Set<string>();
  private readonly moving = new Set<string>();
  private readonly unsubscribers: (() => void)[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  /** Until when (performance.now()) this node's lease is valid for itself: it stops its shards at that time. */
  private validUntil = 0;
  private fenced = true;
  private stopping: Promise<void> | null = null;
  private planning = false;
  private replanSoon = false;

  constructor(
    readonly node: ClusterNode,
    private readonly placement: Placement,
    types: readonly AnyEntityType[],
    hosted: readonly AnyEntityType[],
    private readonly o: ResolvedSharding,
  ) {
    const system = node.system;
    for (const t of types) {
      const counters = newTypeCounters();
      this.counters.set(t.name, counters);
      const isHosted = hosted.includes(t);
      const region = new Region<Message>(
        t.name,
        isHosted ? (t.options as never) : null,
        {
          system,
          node: node.name,
          shards: o.shards,
          holdCapacity: o.holdCapacity,
          route: (type, shard) => this.route(type, shard),
          askReply: (target, timeoutMs) => node.askReply(target, timeoutMs),
          publish: (event: RegionEvent) => system.publish(event),
          remember: (id, shard, active) =>
            void (active
              ? this.placement.remember(t.name, shard, id)
              : this.placement.forget(t.name, shard, id)),
        },
        counters,
      );
      this.regions.set(t.name, region);
    }
  }

  async start(): Promise<void> {
    const system = this.node.system;
    for (const region of this.regions.values()) {
      const key = regionKey(region.type);
      if (region.hosting) {
        const ref = system.spawn(
          receive<null, RegionMessage>(
            null,
            (s, m) => {
              region.receive(m);
              return s;
            },
            {
              onStart: (ctx) => {
                region.attach(ctx);
                return null;
              },
              onTerminated: (s, t) => {
                region.terminated(t.ref as ActorRef<Message>, t.reason.type === 'error');
                return s;
              },
            },
          ),
          { name: `troupe-sharding-${region.type}`, mailbox: { capacity: 65_536 } },
        );
        this.node.register(key, ref);
      }
      this.unsubscribers.push(
        this.node.subscribe(key, (refs) => {
          const byNode = new Map<string, ActorRef<RegionMessage>>();
          for (const ref of refs) {
            const owner = nodeOf(this.node, ref);
            if (owner !== undefined && owner !== this.node.name) byNode.set(owner, ref);
          }
          this.remoteRegions.set(region.type, byNode);
          this.releaseAll(region.type);
        }),
      );
    }
    this.unsubscribers.push(
      this.placement.onChange((change) => {
        if (change.kind === 'shard') {
          this.regions.get(change.type)?.moved(change.shard);
          this.regions.get(change.type)?.release(change.shard);
        } else for (const type of this.regions.keys()) this.releaseAll(type);
        this.soon();
      }),
    );
    this.unsubscribers.push(this.node.attach({ name: 'sharding', close: () => this.close() }));
    this.node.entityRefs((type, id) => this.refByName(type, id));
    await this.renew();
    this.timers = [
      setInterval(() => void this.renew(), Math.max(10, this.o.leaseMs / 4)),
      setInterval(() => this.checkLease(), Math.max(5, this.o.leaseMs / 20)),
      setInterval(() => this.soon(), this.o.intervalMs),
    ];
    for (const t of this.timers) t.unref();
    await this.rebalance();
  }

  ref<M extends Message>(type: EntityType<M>, id: string): ActorRef<M> {
    const region = this.regions.get((type as EntityType<M> | undefined)?.name ?? '');
    if (region === undefined || typeof type !== 'object')
      throw new TypeError(
        `sharding.ref: unknown entity type ${String((type as { name?: unknown })?.name)}: pass it to startSharding`,
      );
    if (typeof id !== 'string' || id.length === 0 || id.length > 256)
      throw new TypeError('sharding.ref: an entity id is a non-empty string of at most 256 characters');
    return new EntityRef<M>(region as unknown as Region<M>, id);
  }

  /** The ref of an entity named on the wire (`troupe://c@$entity/type#id`). */
  refByName(type: string, id: string): ActorRef<Message> {
    const region = this.regions.get(type);
    if (region === undefined)
      throw new TypeError(`an entity of type ${type.slice(0, 48)}, unknown on this node`);
    return new EntityRef<Message>(region, id);
  }

  stats(): ShardingStats {
    const types: Record<string, TypeCounters> = {};
    for (const [name, c] of this.counters) types[name] = { ...c };
    return { node: this.node.name, leaseValid: !this.fenced, types };
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopHosting();
    return this.stopping;
  }

  /** The node leaves the cluster: stop hosting, then stop routing; what is still held is undeliverable. */
  private async close(): Promise<void> {
    await this.stop();
    for (const t of this.timers) clearInterval(t);
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    for (const region of this.regions.values()) region.abandonHeld();
    await this.placement.close();
  }

  // ---- routing --------------------------------------------------------------------------

  private route(type: string, shard: number): Route {
    const region = this.regions.get(type) as Region<Message>;
    if (region.isStarted(shard)) {
      if (performance.now() < this.validUntil) return { kind: 'local', epoch: this.epochOf(type, shard) };
      this.fence();
      return { kind: 'hold' };
    }
    const now = Date.now();
    const record = this.placement.shard(type, shard);
    if (record !== undefined && record.state === 'active' && this.placement.validOwner(record, now)) {
      if (record.owner === this.node.name) return { kind: 'hold' }; // ours, starting
      const ref = this.remoteRegions.get(type)?.get(record.owner as string);
      return ref === undefined ? { kind: 'hold' } : { kind: 'remote', region: ref };
    }
    return this.placement.hosts(type, now).length === 0 ? { kind: 'nowhere' } : { kind: 'hold' };
  }

  private epochOf(type: string, shard: number): number {
    return this.placement.shard(type, shard)?.epoch ?? 0;
  }

  private releaseAll(type: string): void {
    const region = this.regions.get(type);
    if (region === undefined) return;
    for (let s = 0; s < this.o.shards; s++) region.release(s);
  }

  // ---- the lease ------------------------------------------------------------------------

  private async renew(): Promise<void> {
    if (this.stopping !== null) return;
    const sent = performance.now();
    const ok = await this.placement.renew(Date.now());
    if (!ok) return;
    // Others may take the lease's shards at until + skew: this node stops them at until - skew.
    this.validUntil = sent + this.o.leaseMs - this.o.skewMs;
    if (this.fenced) {
      this.fenced = false;
      this.soon();
    }
  }

  private checkLease(): void {
    if (!this.fenced && performance.now() >= this.validUntil) this.fence();
  }

  /** This node's lease could not be renewed in time: every shard it runs stops now. */
  private fence(): void {
    if (this.fenced) return;
    this.fenced = true;
    for (const region of this.regions.values()) {
      for (let s = 0; s < this.o.shards; s++) {
        if (!region.isStarted(s)) continue;
        void region.stopShard(s, 'fenced');
        this.node.system.publish({
          type: 'ShardHandedOff',
          entityType: region.type,
          shard: s,
          node: this.node.name,
          to: null,
          reason: 'fenced',
        });
      }
    }
  }

  // ---- placement ------------------------------------------------------------------------

  /** Plans again soon (coalesced): after a change of the table, and on the interval. */
  private soon(): void {
    if (this.planning) {
      this.replanSoon = true;
      return;
    }
    setImmediate(() => void this.rebalance());
  }

  private async rebalance(): Promise<void> {
    if (this.planning || this.stopping !== null) return;
    this.planning = true;
    try {
      do {
        this.replanSoon = false;
        await Promise.all([...this.regions.values()].filter((r) => r.hosting).map((r) => this.plan(r)));
      } while (this.replanSoon && this.stopping === null);
    } catch (error) {
      this.node.system.log.warn({ err: error }, 'sharding: placement round failed');
    } finally {
      this.planning = false;
    }
  }

  private async plan(region: Region<Message>): Promise<void> {
    if (this.fenced) return;
    const now = Date.now();
    const type = region.type;
    const me = this.node.name;
    const owners: (string | null)[] = [];
    for (let s = 0; s < this.o.shards; s++) {
      const record = this.placement.shard(type, s);
      const busy = this.moving.has(`${type}.${s}`) || this.claiming.has(`${type}.${s}`);
      const valid = this.placement.validOwner(record, now); // active or in handoff, lease valid
      const mine = record?.owner === me && record.incarnation === this.node.incarnation;
      if (busy) owners.push(me);
      else if (valid && mine && record?.state === 'active' && !region.isStarted(s)) {
        // Given to us (a handoff), or ours from before a lapse of our lease: start it.
        owners.push(me);
        void this.startLocal(region, s, record.epoch);
      } else owners.push(valid ? (record?.owner ?? null) : null);
      // Started here, but the record names another owner now: stop it.
      if (region.isStarted(s) && !busy && !mine) void region.stopShard(s, 'handoff');
    }
    const hosts = this.placement.hosts(type, now);
    const { claim, handOff } = plan(owners, hosts, me, this.o.maxMoves);
    await Promise.all([
      ...claim.map((s) => this.claim(region, s)),
      ...handOff.map((h) => this.handOff(region, h.shard, h.to)),
    ]);
  }

  /** Takes shard `s` (orphaned, released, or ours from before): compare-and-set, a new epoch, then start it. */
  private async claim(region: Region<Message>, s: number): Promise<void> {
    const key = `${region.type}.${s}`;
    if (this.claiming.has(key) || region.isStarted(s)) return;
    this.claiming.add(key);
    try {
      const record = this.placement.shard(region.type, s);
      const next: ShardRecord = {
        owner: this.node.name,
        incarnation: this.node.incarnation,
        epoch: (record?.epoch ?? 0) + 1,
        state: 'active',
      };
      if (!(await this.placement.swap(region.type, s, record, next))) return;
      await this.startShard(region, s, next.epoch);
    } finally {
      this.claiming.delete(key);
    }
  }

  /** Starts a shard recorded as ours (handed to us, or ours from before a lapse). */
  private async startLocal(region: Region<Message>, s: number, epoch: number): Promise<void> {
    const key = `${region.type}.${s}`;
    if (this.claiming.has(key) || region.isStarted(s)) return;
    this.claiming.add(key);
    try {
      await this.startShard(region, s, epoch);
    } finally {
      this.claiming.delete(key);
    }
  }

  /**
   * The shard is ours with `epoch`: raise its fence in the type's store (before any entity runs:
   * the previous owner can write no more), start it, start its remembered entities, and let what
   * was held for it go.
   */
  private async startShard(region: Region<Message>, s: number, epoch: number): Promise<void> {
    const spec = region.spec;
    if (spec === null) return;
    if (spec.fencing !== undefined) {
      let inForce: number;
      try {
        inForce = await spec.fencing.fence(`${region.type}/${s}`, epoch);
      } catch (error) {
        this.node.system.log.warn(
          { err: error, shard: s, type: region.type },
          'sharding: cannot raise the fence: shard not started',
        );
        return;
      }
      if (inForce > epoch) return; // a newer owner already fenced it
    }
    if (this.fenced || this.stopping !== null) return;
    const record = this.placement.shard(region.type, s);
    if (record?.owner !== this.node.name || record.epoch !== epoch) return; // taken meanwhile
    region.startShard(s, epoch);
    this.node.system.publish({
      type: 'ShardStarted',
      entityType: region.type,
      shard: s,
      epoch,
      node: this.node.name,
    });
    if (spec.remember) {
      const ids = await this.placement.remembered(region.type, s).catch(() => [] as string[]);
      for (const id of ids) region.wake(id);
    }
    region.release(s);
  }

  /**
   * Gives shard `s` to `to`: marks it `handoff` (senders hold), stops its entities (each after
   * what its mailbox holds), then records `to` as owner with a new epoch; what was held here
   * for it goes there.
   */
  private async handOff(region: Region<Message>, s: number, to: string): Promise<void> {
    const key = `${region.type}.${s}`;
    const record = this.placement.shard(region.type, s);
    const lease = this.placement.hostLease(to, Date.now());
    if (
      record === undefined ||
      record.owner !== this.node.name ||
      lease === undefined ||
      !region.isStarted(s)
    )
      return;
    if (this.moving.has(key)) return;
    this.moving.add(key);
    try {
      const marked: ShardRecord = { ...record, state: 'handoff', to };
      if (!(await this.placement.swap(region.type, s, record, marked))) return;
      await region.stopShard(s, 'handoff');
      const given: ShardRecord = {
        owner: to,
        incarnation: lease.incarnation,
        epoch: record.epoch + 1,
        state: 'active',
      };
      if (!(await this.placement.swap(region.type, s, marked, given))) {
        // Could not give it (the store refused or is away): release it instead, for anyone to claim.
        const now = this.placement.shard(region.type, s);
        if (now?.owner === this.node.name)
          await this.placement.swap(region.type, s, now, {
            owner: null,
            incarnation: null,
            epoch: now.epoch,
            state: 'released',
          });
        return;
      }
    } finally {
      this.moving.delete(key);
    }
    this.node.system.publish({
      type: 'ShardHandedOff',
      entityType: region.type,
      shard: s,
      node: this.node.name,
      to,
      reason: 'rebalance',
    });
    region.release(s);
  }

  /** Every shard released (entities stopped first), then the lease removed; routing goes on. */
  private async stopHosting(): Promise<void> {
    await Promise.all(
      [...this.regions.values()].flatMap((region) => {
        const out: Promise<void>[] = [];
        for (let s = 0; s < this.o.shards; s++) {
          if (!region.isStarted(s)) continue;
          out.push(
            (async () => {
              await region.stopShard(s, 'handoff');
              const record = this.placement.shard(region.type, s);
              if (record?.owner !== this.node.name) return;
              await this.placement.swap(region.type, s, record, {
                owner: null,
                incarnation: null,
                epoch: record.epoch,
                state: 'released',
              });
              this.node.system.publish({
                type: 'ShardHandedOff',
                entityType: region.type,
                shard: s,
                node: this.node.name,
                to: null,
                reason: 'leaving',
              });
            })(),
          );
        }
        return out;
      }),
    );
    this.fenced = true;
    await this.placement.dropLease();
  }
}

function regionKey(type: string) {
  return serviceKey<RegionMessage>(`troupe-sharding.${type}`);
}

function nodeOf(node: ClusterNode, ref: ActorRef<Message>): string | undefined {
  const m = /^troupe:\/\/[^@/]+@([^/]+)\//.exec(node.addressOf(ref));
  return m === null ? undefined : decodeURIComponent(m[1] as string);
}
