/**
 * What one node counts for one entity type (`sharding.stats()`, `/metrics`). Per type, across
 * the cluster and once traffic settles: every message sent through a ref is delivered to an
 * entity once, dead-lettered by sharding, or still held — `Σ sent = Σ delivered + Σ
 * deadLettered + Σ held` (forwarded messages are counted where they end, not where they pass).
 */
export interface TypeCounters {
  /** Messages sent through refs on this node. */
  sent: number;
  /** Handed to an entity's mailbox here. */
  delivered: number;
  /** Passed on to the owner's node. */
  forwarded: number;
  /** Arrived from another node's region. */
  received: number;
  /** Dead letters made by sharding (hold full, no node hosts the type, invalid). */
  deadLettered: number;
  /** Held now, for shards that are moving or starting. */
  held: number;
  /** Ever held. */
  heldTotal: number;
  /** Asks sent again after their shard moved. */
  resent: number;
  /** Shards started here now. */
  shards: number;
  /** Entities active here now. */
  active: number;
  activations: number;
  passivations: number;
  /** Reminders fired here (delivered to their entity; not counted in `sent` or `delivered`). */
  reminders: number;
}

export function newTypeCounters(): TypeCounters {
  return {
    sent: 0,
    delivered: 0,
    forwarded: 0,
    received: 0,
    deadLettered: 0,
    held: 0,
    heldTotal: 0,
    resent: 0,
    shards: 0,
    active: 0,
    activations: 0,
    passivations: 0,
    reminders: 0,
  };
}

/** `sharding.stats()`: per entity type, this node's counters. */
export interface ShardingStats {
  readonly node: string;
  /** Whether this node's lease is valid now (it may own shards). */
  readonly leaseValid: boolean;
  readonly types: Readonly<Record<string, Readonly<TypeCounters>>>;
}
