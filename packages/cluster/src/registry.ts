import { type ActorRef, type ActorSystem, type Message, parseAddress } from '@troupe/runtime';
import { isServiceKeyId } from './service-key.js';

/** What the registry needs from its node. @internal */
export interface RegistryHost {
  readonly cluster: string;
  publish(body: string): void;
  decodeRef(address: string): ActorRef<Message>;
  addressOf(ref: ActorRef<Message>): string;
  isUp(node: string, incarnation: string): boolean;
  /** Whether `node` is known with exactly this incarnation (up, down or left). */
  isKnown(node: string, incarnation: string): boolean;
  /** An update of `node` was applied. */
  updated(node: string, incarnation: string): void;
  now(): number;
}

const MAX_KEYS = 10_000;
const MAX_REFS = 100_000;
/** Updates held for senders not yet seen up: at most this many senders, for at most this long. */
const MAX_EARLY = 256;
const EARLY_TTL_MS = 30_000;

/**
 * The cluster registry (Akka's Receptionist): service keys → refs, on every node. Each node
 * owns its own registrations and publishes them whole on `troupe.<cluster>.reg` when they
 * change (once per turn), when a node joins, and every few heartbeats (so a lost update heals);
 * the others replace that node's part of their view. A node's part goes with it when it leaves
 * or is declared down; a local registration goes when its actor stops.
 *
 * An update can arrive before its sender's first heartbeat (the two travel on different
 * subjects): it is held, the latest per sender (bounded: 256 senders, 30 s), and applied when
 * that incarnation is seen up. An update from an incarnation known to be down or left is
 * stale and dropped; one that is not a registry update, or names another node's actors, is
 * invalid (thrown, for the node to count).
 *
 * Body (JSON): { v: 1, n: node, i: incarnation, keys: { [key]: [address, …] } }
 *
 * @internal
 */
export class Registry {
  private readonly local = new Map<string, Set<ActorRef<Message>>>();
  private readonly remote = new Map<string, Map<string, ActorRef<Message>[]>>();
  private readonly listeners = new Map<string, Set<(refs: readonly ActorRef<Message>[]) => void>>();
  /** The last listing each listened-to key was reported with (to report changes only). */
  private readonly reported = new Map<string, string>();
  private scheduled = false;
  private closed = false;
  /** Updates from senders not seen up yet, by node: the latest one. */
  private readonly early = new Map<string, { incarnation: string; data: Uint8Array; at: number }>();

  constructor(
    private readonly system: ActorSystem,
    private readonly node: string,
    private readonly incarnation: string,
    private readonly host: RegistryHost,
  ) {}

  register(key: string, ref: ActorRef<Message>): void {
    let set = this.local.get(key);
    if (set === undefined) {
      set = new Set();
      this.local.set(key, set);
    }
    if (set.has(ref)) return;
    set.add(ref);
    this.changed([key]);
    this.publishSoon();
  }

  unregister(key: string, ref: ActorRef<Message>): void {
    const set = this.local.get(key);
    if (set === undefined || !set.delete(ref)) return;
    if (set.size === 0) this.local.delete(key);
    this.changed([key]);
    this.publishSoon();
  }

  /** A local actor stopped: its registrations go. */
  stopped(path: string, id: string): void {
    const keys: string[] = [];
    for (const [key, set] of this.local) {
      for (const ref of set) {
        if (ref.path === path && ref.id === id) {
          set.delete(ref);
          keys.push(key);
        }
      }
      if (set.size === 0) this.local.delete(key);
    }
    if (keys.length === 0) return;
    this.changed(keys);
    this.publishSoon();
  }

  listing(key: string): ActorRef<Message>[] {
    const out = [...(this.local.get(key) ?? [])].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
    for (const node of [...this.remote.keys()].sort()) {
      const refs = this.remote.get(node)?.get(key);
      if (refs !== undefined) out.push(...refs);
    }
    return out;
  }

  subscribe(key: string, listener: (refs: readonly ActorRef<Message>[]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('subscribe: listener must be a function');
    let set = this.listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    const refs = this.listing(key);
    this.reported.set(key, fingerprint(refs));
    this.call(listener, refs);
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.listeners.delete(key);
        this.reported.delete(key);
      }
    };
  }

  nodeGone(node: string): void {
    const part = this.remote.get(node);
    if (part === undefined) return;
    this.remote.delete(node);
    this.changed([...part.keys()]);
  }

  /** Another node's registrations. Throws `TypeError` on a body that is not one. */
  receive(data: Uint8Array): void {
    if (data.length > 4 * 1024 * 1024) throw new TypeError('registry update too large');
    const body = JSON.parse(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
    ) as Record<string, unknown> | null;
    if (
      body === null ||
      typeof body !== 'object' ||
      body.v !== 1 ||
      typeof body.n !== 'string' ||
      typeof body.i !== 'string' ||
      body.keys === null ||
      typeof body.keys !== 'object' ||
      Array.isArray(body.keys)
    ) {
      throw new TypeError('registry update has the wrong shape');
    }
    if (body.n === this.node) return;
    if (body.n.length > 64 || body.i.length > 64) throw new TypeError('registry update has a bad sender');
    const entries = Object.entries(body.keys as Record<string, unknown>);
    if (entries.length > MAX_KEYS) throw new TypeError('registry update has too many keys');
    let total = 0;
    for (const [key, addresses] of entries) {
      if (!isServiceKeyId(key) || !Array.isArray(addresses))
        throw new TypeError('registry update has a bad key');
      total += addresses.length;
      if (total > MAX_REFS) throw new TypeError('registry update has too many refs');
      for (const address of addresses) {
        if (typeof address !== 'string') throw new TypeError('registry update has a bad address');
        const parts = parseAddress(address);
        if (parts.system !== this.host.cluster) throw new TypeError('registry update names another cluster');
        if (parts.node !== body.n) throw new TypeError('a node may register only its own actors');
      }
    }
    if (!this.host.isUp(body.n, body.i)) {
      if (this.host.isKnown(body.n, body.i)) return; // from one known down or left: stale
      this.hold(body.n, body.i, data);
      return;
    }
    const part = new Map<string, ActorRef<Message>[]>();
    for (const [key, addresses] of entries) {
      part.set(
        key,
        (addresses as string[]).map((address) => this.host.decodeRef(address)),
      );
    }
    const before = this.remote.get(body.n);
    this.remote.set(body.n, part);
    const keys = new Set([...part.keys(), ...(before?.keys() ?? [])]);
    this.changed([...keys]);
    this.host.updated(body.n, body.i);
  }

  /** `node` is up as `incarnation`: apply the update it sent before we saw it, if any. */
  nodeUp(node: string, incarnation: string): void {
    const held = this.early.get(node);
    if (held === undefined) return;
    this.early.delete(node);
    if (held.incarnation !== incarnation || this.host.now() - held.at > EARLY_TTL_MS) return;
    this.receive(held.data);
  }

  private hold(node: string, incarnation: string, data: Uint8Array): void {
    this.early.delete(node); // re-inserted last: the map stays oldest first
    if (this.early.size >= MAX_EARLY) {
      const oldest = this.early.keys().next().value as string;
      this.early.delete(oldest);
    }
    this.early.set(node, { incarnation, data: Uint8Array.from(data), at: this.host.now() });
  }

  publishSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.publishNow());
  }

  /** Stops publishing (the node left). */
  close(): void {
    this.closed = true;
  }

  publishNow(): void {
    this.scheduled = false;
    if (this.closed) return;
    const keys: Record<string, string[]> = {};
    for (const [key, set] of this.local) keys[key] = [...set].map((ref) => this.host.addressOf(ref));
    this.host.publish(JSON.stringify({ v: 1, n: this.node, i: this.incarnation, keys }));
  }

  private changed(keys: readonly string[]): void {
    for (const key of keys) {
      const listeners = this.listeners.get(key);
      if (listeners === undefined) continue;
      const refs = this.listing(key);
      const print = fingerprint(refs);
      if (this.reported.get(key) === print) continue;
      this.reported.set(key, print);
      for (const listener of [...listeners]) this.call(listener, refs);
    }
  }

  private call(
    listener: (refs: readonly ActorRef<Message>[]) => void,
    refs: readonly ActorRef<Message>[],
  ): void {
    try {
      listener(refs);
    } catch (error) {
      this.system.log.error({ err: error }, 'registry listener threw');
    }
  }
}

function fingerprint(refs: readonly ActorRef<Message>[]): string {
  return refs.map((r) => `${String(r)}`).join('\n');
}
