/**
 * What users see of sharding: the options of {@link startSharding} and the {@link Sharding}
 * handle it resolves with (implemented in sharding.ts), and the options' validation.
 */
import { type ActorRef, type Message, OptionChecks } from '@troupe/runtime';
import type { AnyEntityType, EntityType } from './entity-type.js';
import type { startSharding } from './sharding.js';
import type { ShardingStats } from './stats.js';

/** Options of {@link startSharding}. */
export interface ShardingOptions {
  /** Every entity type this node uses: hosts (see `host`) or only addresses. */
  readonly entities: readonly AnyEntityType[];
  /**
   * Which of them this node hosts: all (default), none (`false`: a proxy that only routes), or
   * a list. Hosting needs the type's behaviour; a proxy only its name.
   */
  readonly host?: boolean | readonly AnyEntityType[];
  /** Shards per type: the same on every node (default 128). Entities map to shards by a stable hash. */
  readonly shards?: number;
  /**
   * How long a node's lease on its shards lasts, in ms (default 4000). It renews it every
   * quarter of that; a node that cannot renew stops its entities before the lease expires, and
   * a dead node's shards start elsewhere about this long after its last renewal.
   */
  readonly leaseMs?: number;
  /** Clock difference tolerated between nodes, ms (default 500; < leaseMs / 4). */
  readonly skewMs?: number;
  /** How often each node checks the placement, ms (default 500), and how many shards it hands off per check at most (default 4). */
  readonly rebalance?: { readonly intervalMs?: number; readonly maxMoves?: number };
  /** Messages held per type for shards that are moving, at most (default 10,000). */
  readonly holdCapacity?: number;
  /** Replicas of the placement bucket (default 1; 3 on a cluster of NATS servers). */
  readonly replicas?: number;
}

/** Sharded entities on one node; see {@link startSharding}. */
export interface Sharding {
  /**
   * The ref of entity `id` of `type`, usable from any node, forever (see the cluster README).
   * Throws `TypeError` for a type not given to `startSharding`, or an id that is not a
   * non-empty string of at most 256 characters.
   */
  ref<M extends Message>(type: EntityType<M>, id: string): ActorRef<M>;
  /** This node's counters per type. */
  stats(): ShardingStats;
  /**
   * Stops hosting: every shard this node owns is released (each entity finishes what its
   * mailbox holds, then stops; the shard starts on another host) and its lease removed; the node
   * goes on routing, as a proxy: what was held here goes to the new owners. `node.leave()` and
   * `system.shutdown()` do this first. Idempotent.
   */
  stop(): Promise<void>;
}

/** @internal {@link ShardingOptions} with defaults applied. */
export interface ResolvedSharding {
  readonly shards: number;
  readonly leaseMs: number;
  readonly skewMs: number;
  readonly intervalMs: number;
  readonly maxMoves: number;
  readonly holdCapacity: number;
  readonly replicas: number;
}

/** @internal Checks every option, naming all that are wrong at once. */
export function validateShardingOptions(options: ShardingOptions): {
  types: readonly AnyEntityType[];
  hosted: readonly AnyEntityType[];
  resolved: ResolvedSharding;
} {
  if (options === null || typeof options !== 'object')
    throw new TypeError('startSharding: options must be an object');
  const checks = new OptionChecks('startSharding');
  const types = checks.run(() => {
    const list = options.entities;
    if (!Array.isArray(list) || list.length === 0)
      throw new TypeError('startSharding: entities must be a non-empty list of entity types');
    const names = new Set<string>();
    for (const t of list) {
      if (t === null || typeof t !== 'object' || typeof t.name !== 'string' || typeof t.options !== 'object')
        throw new TypeError('startSharding: entities must come from entityType()');
      if (names.has(t.name)) throw new TypeError(`startSharding: entity type ${t.name} is given twice`);
      names.add(t.name);
    }
    return list as readonly AnyEntityType[];
  }, []);
  const hosted = checks.run(() => {
    const h = options.host ?? true;
    if (h === true) return types;
    if (h === false) return [];
    if (!Array.isArray(h) || !h.every((t) => types.includes(t)))
      throw new TypeError('startSharding: host must be true, false, or a list of the entity types given');
    return h as readonly AnyEntityType[];
  }, []);
  const int = (field: string, value: unknown, fallback: number, min: number) =>
    checks.run(() => {
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
        throw new RangeError(`startSharding: ${field} must be an integer >= ${min}; got ${String(value)}`);
      return value;
    }, fallback);
  const shards = int('shards', options.shards, 128, 1);
  const leaseMs = int('leaseMs', options.leaseMs, 4000, 200);
  const skewMs = int('skewMs', options.skewMs, Math.min(500, Math.floor(leaseMs / 8)), 0);
  checks.run(() => {
    if (skewMs * 4 >= leaseMs)
      throw new RangeError(
        `startSharding: skewMs (${skewMs}) must be less than leaseMs / 4 (${leaseMs / 4})`,
      );
  }, undefined);
  const rebalance = checks.run(() => {
    const r = options.rebalance ?? {};
    if (r === null || typeof r !== 'object')
      throw new TypeError('startSharding: rebalance must be an object');
    return r;
  }, {});
  const intervalMs = int('rebalance.intervalMs', rebalance.intervalMs, 500, 10);
  const maxMoves = int('rebalance.maxMoves', rebalance.maxMoves, 4, 1);
  const holdCapacity = int('holdCapacity', options.holdCapacity, 10_000, 1);
  const replicas = int('replicas', options.replicas, 1, 1);
  checks.done();
  return {
    types,
    hosted,
    resolved: { shards, leaseMs, skewMs, intervalMs, maxMoves, holdCapacity, replicas },
  };
}
