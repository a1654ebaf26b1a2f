import { type KV, Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/nats-core';

/**
 * Shard ownership on JetStream key-value (no home-made consensus): one bucket per cluster,
 * `TROUPE_SHARDS_<cluster>`, with compare-and-set on revisions for every change.
 *
 * - `lease.<node>.<incarnation>` → `{ types, until }`: a hosting node's lease, renewed by its
 *   owner (compare-and-set on its own last revision). nats-server 2.9 has no per-key TTL, so the
 *   expiry is a time inside the value. One key per incarnation: a restarted node never
 *   overwrites the lease of its frozen predecessor, which stays valid until its time.
 * - `shard.<type>.<n>` → `{ owner, incarnation, epoch, state, to? }`: who owns shard n of a
 *   type. Every change of owner increments `epoch`, the fencing token persistent entities write
 *   with. `state`: `active`; `handoff` (the owner is stopping it, to give it to `to`: senders
 *   hold their messages); `released` (no owner: anyone may claim it).
 *
 * A shard's owner is **valid** while its lease (same incarnation) has not expired, judged with
 * a margin for clock skew; an owner that cannot renew stops its entities before that (see
 * `Sharding`). Reads come from the stream leader (`allow_direct: false`): a compare-and-set loop
 * must never act on a stale follower read (nats-server #4710).
 *
 * @internal
 */

export interface LeaseValue {
  readonly node: string;
  readonly incarnation: string;
  /** The entity types this node hosts. */
  readonly types: readonly string[];
  /** How many shards this node uses per type (every node must agree). */
  readonly shards: number;
  /** Wall-clock ms after which the lease is expired. */
  readonly until: number;
}

export type ShardState = 'active' | 'handoff' | 'released';

export interface ShardRecord {
  readonly owner: string | null;
  readonly incarnation: string | null;
  readonly epoch: number;
  readonly state: ShardState;
  /** During a handoff: the node the shard goes to. */
  readonly to?: string;
}

interface Versioned<T> {
  readonly value: T;
  readonly revision: number;
}

export interface PlacementOptions {
  readonly cluster: string;
  readonly node: string;
  readonly incarnation: string;
  readonly types: readonly string[];
  readonly shards: number;
  readonly leaseMs: number;
  /** Tolerated clock difference between nodes, ms. */
  readonly skewMs: number;
  /** JetStream replicas of the bucket (1, or 3 on a cluster of servers). */
  readonly replicas: number;
}

/** What changed in the table (a shard record or a lease), for the regions to react. */
export type PlacementChange =
  | { readonly kind: 'shard'; readonly type: string; readonly shard: number }
  | { readonly kind: 'lease' };

export class Placement {
  private readonly leases = new Map<string, Versioned<LeaseValue>>();
  private readonly shards = new Map<string, Versioned<ShardRecord>>();
  private readonly listeners = new Set<(change: PlacementChange) => void>();
  private watcher: QueuedIterator<KvWatchEntry> | null = null;
  private ownLease: number | null = null;
  private closed = false;

  private entities: Promise<KV> | null = null;

  private constructor(
    private readonly kv: KV,
    private readonly kvm: Kvm,
    readonly options: PlacementOptions,
  ) {}

  /** Opens (creating if needed) the cluster's bucket and loads the current table. */
  static async open(nc: NatsConnection, options: PlacementOptions): Promise<Placement> {
    const kvm = new Kvm(nc);
    const kv = await kvm.create(`TROUPE_SHARDS_${options.cluster}`, {
      history: 1,
      replicas: options.replicas,
      allow_direct: false,
    });
    const placement = new Placement(kv, kvm, options);
    await placement.watch();
    return placement;
  }

  get leaseKey(): string {
    return `lease.${this.options.node}.${this.options.incarnation}`;
  }

  /** Calls `listener` after each change of the table. */
  onChange(listener: (change: PlacementChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes this node's lease, valid for `leaseMs` from now; returns whether it was stored (a
   * compare-and-set on its own last revision: false when the store refused or is unreachable).
   */
  async renew(now: number): Promise<boolean> {
    const value: LeaseValue = {
      node: this.options.node,
      incarnation: this.options.incarnation,
      types: this.options.types,
      shards: this.options.shards,
      until: now + this.options.leaseMs,
    };
    try {
      const body = JSON.stringify(value);
      this.ownLease =
        this.ownLease === null
          ? await this.kv.create(this.leaseKey, body)
          : await this.kv.update(this.leaseKey, body, this.ownLease);
      this.leases.set(this.leaseKey, { value, revision: this.ownLease });
      return true;
    } catch {
      this.ownLease = (await this.revisionOf(this.leaseKey)) ?? this.ownLease;
      return false;
    }
  }

  /** Whether `record` names an owner whose lease is valid at `now` (wall clock). */
  validOwner(record: ShardRecord | undefined, now: number): boolean {
    if (record === undefined || record.owner === null || record.state === 'released') return false;
    const lease = this.leases.get(`lease.${record.owner}.${record.incarnation}`);
    return lease !== undefined && lease.value.until + this.options.skewMs > now;
  }

  /** The hosts of `type` with a valid lease at `now`, by node name (one incarnation each). */
  hosts(type: string, now: number): string[] {
    const out = new Set<string>();
    for (const { value } of this.leases.values()) {
      if (value.until + this.options.skewMs > now && value.types.includes(type)) out.add(value.node);
    }
    return [...out].sort();
  }

  /** The valid lease of the host named `node` (its newest incarnation), if any. */
  hostLease(node: string, now: number): LeaseValue | undefined {
    let best: LeaseValue | undefined;
    for (const { value } of this.leases.values()) {
      if (value.node !== node || value.until + this.options.skewMs <= now) continue;
      if (best === undefined || value.until > best.until) best = value;
    }
    return best;
  }

  /** A valid lease of another node that uses a different number of shards for one of `types`. */
  shardCountConflict(
    types: readonly string[],
    shards: number,
    now: number,
  ): { node: string; type: string; shards: number } | undefined {
    for (const { value } of this.leases.values()) {
      if (value.until + this.options.skewMs <= now || value.shards === shards) continue;
      const type = value.types.find((t) => types.includes(t));
      if (type !== undefined) return { node: value.node, type, shards: value.shards };
    }
    return undefined;
  }

  /** The lease of `node` with `incarnation`, if known. */
  lease(node: string, incarnation: string): LeaseValue | undefined {
    return this.leases.get(`lease.${node}.${incarnation}`)?.value;
  }

  shard(type: string, shard: number): ShardRecord | undefined {
    return this.shards.get(`shard.${type}.${shard}`)?.value;
  }

  /**
   * Replaces shard `n`'s record with `next` if it is still `expected` (the record this node
   * decided on; undefined: no record). Returns whether it won. A loser re-reads from the leader.
   */
  async swap(
    type: string,
    shard: number,
    expected: ShardRecord | undefined,
    next: ShardRecord,
  ): Promise<boolean> {
    const key = `shard.${type}.${shard}`;
    const current = this.shards.get(key);
    if ((current?.value ?? undefined) !== expected) return false;
    try {
      const body = JSON.stringify(next);
      const revision =
        current === undefined
          ? await this.kv.create(key, body)
          : await this.kv.update(key, body, current.revision);
      this.shards.set(key, { value: next, revision });
      this.emit({ kind: 'shard', type, shard });
      return true;
    } catch {
      await this.refresh(key);
      return false;
    }
  }

  /**
   * Remember entities, in a bucket of their own (`TROUPE_ENTITIES_<cluster>`, key
   * `<type>.<shard>.<base64url id>`): `id` of shard `shard` is active, so it starts again
   * wherever the shard goes. Best effort: an entity not remembered just waits for a message.
   */
  async remember(type: string, shard: number, id: string): Promise<void> {
    await (await this.entityBucket()).put(`${type}.${shard}.${encodeId(id)}`, '').catch(() => {});
  }

  /** Remember entities: `id` was passivated (it starts only on its next message). */
  async forget(type: string, shard: number, id: string): Promise<void> {
    await (await this.entityBucket()).delete(`${type}.${shard}.${encodeId(id)}`).catch(() => {});
  }

  /** Remember entities: the ids of shard `shard` that were active. */
  async remembered(type: string, shard: number): Promise<string[]> {
    const ids: string[] = [];
    const prefix = `${type}.${shard}.`;
    const kv = await this.entityBucket();
    for await (const key of await kv.keys(`${prefix}>`)) {
      const id = decodeId(key.slice(prefix.length));
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  private entityBucket(): Promise<KV> {
    this.entities ??= this.kvm.create(`TROUPE_ENTITIES_${this.options.cluster}`, {
      history: 1,
      replicas: this.options.replicas,
      allow_direct: false,
    });
    return this.entities;
  }

  /** Deletes expired leases of other incarnations (housekeeping; anyone may, none must). */
  async sweep(now: number): Promise<void> {
    for (const [key, { value, revision }] of [...this.leases]) {
      if (key === this.leaseKey || value.until + 10 * this.options.leaseMs > now) continue;
      await this.kv.delete(key, { previousSeq: revision }).catch(() => {});
    }
  }

  /** Removes this node's lease: it hosts nothing any more (its shards were released before). */
  async dropLease(): Promise<void> {
    const revision = this.ownLease;
    this.ownLease = null;
    this.leases.delete(this.leaseKey);
    if (revision !== null) await this.kv.delete(this.leaseKey, { previousSeq: revision }).catch(() => {});
  }

  /** Stops watching (and removes this node's lease). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dropLease();
    this.watcher?.stop();
  }

  private async watch(): Promise<void> {
    const status = await this.kv.status();
    let initialising = status.values > 0;
    let ready!: () => void;
    const loaded = new Promise<void>((resolve) => {
      ready = resolve;
    });
    if (!initialising) ready();
    this.watcher = await this.kv.watch({ key: '>' });
    void (async () => {
      try {
        for await (const entry of this.watcher as QueuedIterator<KvWatchEntry>) {
          this.apply(entry);
          if (initialising && (entry.delta === 0 || entry.isUpdate)) {
            initialising = false;
            ready();
          }
        }
      } catch {
        // the watch ended (connection closed): nothing more to learn
      }
      ready();
    })();
    await loaded;
  }

  private apply(entry: { key: string; revision: number; operation: string; json<T>(): T }): void {
    const deleted = entry.operation !== 'PUT';
    if (entry.key.startsWith('lease.')) {
      const known = this.leases.get(entry.key);
      if (known !== undefined && known.revision >= entry.revision) return;
      if (deleted) this.leases.delete(entry.key);
      else {
        const value = parse<LeaseValue>(entry, isLease);
        if (value === undefined) return;
        this.leases.set(entry.key, { value, revision: entry.revision });
      }
      this.emit({ kind: 'lease' });
      return;
    }
    const m = /^shard\.([A-Za-z0-9_-]+)\.(\d+)$/.exec(entry.key);
    if (m === null) return;
    const known = this.shards.get(entry.key);
    if (known !== undefined && known.revision >= entry.revision) return;
    if (deleted) this.shards.delete(entry.key);
    else {
      const value = parse<ShardRecord>(entry, isShardRecord);
      if (value === undefined) return;
      this.shards.set(entry.key, { value, revision: entry.revision });
    }
    this.emit({ kind: 'shard', type: m[1] as string, shard: Number(m[2]) });
  }

  private async refresh(key: string): Promise<void> {
    try {
      const entry = await this.kv.get(key);
      if (entry !== null) this.apply(entry);
    } catch {
      // unreachable: the watch brings it later
    }
  }

  private async revisionOf(key: string): Promise<number | null> {
    try {
      const entry = await this.kv.get(key);
      return entry === null || entry.operation !== 'PUT' ? null : entry.revision;
    } catch {
      return null;
    }
  }

  private emit(change: PlacementChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}

/** An entity id as one key token: base64url of its UTF-8 bytes. */
function encodeId(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeId(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  return Buffer.from(token, 'base64url').toString('utf8');
}

function parse<T>(entry: { json<U>(): U }, valid: (v: unknown) => boolean): T | undefined {
  try {
    const v = entry.json<unknown>();
    return valid(v) ? (v as T) : undefined;
  } catch {
    return undefined; // garbage in the bucket is ignored, never trusted
  }
}

function isLease(v: unknown): boolean {
  const l = v as Partial<LeaseValue> | null;
  return (
    l !== null &&
    typeof l === 'object' &&
    typeof l.node === 'string' &&
    typeof l.incarnation === 'string' &&
    Array.isArray(l.types) &&
    typeof l.shards === 'number' &&
    typeof l.until === 'number'
  );
}

function isShardRecord(v: unknown): boolean {
  const r = v as Partial<ShardRecord> | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    (r.owner === null || typeof r.owner === 'string') &&
    (r.incarnation === null || typeof r.incarnation === 'string') &&
    typeof r.epoch === 'number' &&
    Number.isSafeInteger(r.epoch) &&
    (r.state === 'active' || r.state === 'handoff' || r.state === 'released')
  );
}
