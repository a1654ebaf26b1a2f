import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  type ActorRef,
  type ActorSystem,
  AskTimeoutError,
  formatAddress,
  type Message,
  OptionChecks,
  parseAddress,
} from '@troupe/runtime';
import type { Codec, RefCodec } from './codec.js';
import { Dispatch } from './dispatch.js';
import { ActorNotFoundError, ClusterJoinError, LookupTimeoutError, NodeUnreachableError } from './errors.js';
import { JoinView } from './join-view.js';
import { Link } from './link.js';
import { decodeHeartbeat, type Heartbeat } from './membership.js';
import type { ResolvedJoinOptions } from './options.js';
import { type Peer, Peers } from './peers.js';
import { RefTable } from './refs.js';
import { Registry } from './registry.js';
import type { RemoteTransport } from './remote-ref.js';
import { Replies } from './replies.js';
import { type RpcRequest, requestRpc, rpcSubject, serveRpc } from './rpc.js';
import type { ServiceKey } from './service-key.js';
import { type ClusterStats, newCounters, type PeerCounters, type PeerStats } from './stats.js';
import { remoteTransport } from './transport.js';
import { Watches } from './watches.js';

const ANTI_ENTROPY_BEATS = 10;

/** Where to find an actor by path: an address `troupe://cluster@node/path[#id]`, or its parts. */
export type ActorLocation = string | { readonly node: string; readonly path: string };

/**
 * This process's node in a cluster (made by `joinCluster`). Refs of actors on other nodes
 * arrive inside messages, from the registry, by path (`resolve`) or from an address (`refFor`),
 * and work like local ones.
 *
 * The node is built from a few parts, each in its own file: {@link Peers} (membership and
 * failure detection), {@link Link} (one outbound link per peer, with its retransmit window),
 * {@link Dispatch} (frames in, and their control entries), `transport.ts` (what remote refs
 * do), {@link Watches} (death watch across nodes), {@link Replies} (asks' reply refs),
 * {@link Registry} and `rpc.ts` (request-reply questions to one node). This class wires them to
 * NATS and to the actor system.
 */
export class ClusterNode {
  /** This node's name. */
  readonly name: string;
  /** The cluster's name. */
  readonly cluster: string;
  /** Random per process: a node restarted under the same name is a new incarnation. */
  readonly incarnation: string;

  private connectedNow = true;
  private leaving: Promise<void> | null = null;
  private beats = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private invalidFrames = 0;
  private joining: JoinView | null = null;
  private readonly counters = new Map<string, PeerCounters>();
  private readonly peers: Peers;
  private readonly dispatch: Dispatch;
  private readonly watches: Watches;
  private readonly table: RefTable;
  private readonly replies: Replies;
  private readonly registry: Registry;
  private readonly refs: RefCodec;
  private readonly codec: Codec;
  private readonly transport: RemoteTransport;
  private readonly subjects: { node: (name: string) => string; hb: string; reg: string };
  private readonly maxPayload: number;
  private readonly subscriptions: Subscription[] = [];
  private unsubscribeEvents: (() => void) | undefined;
  private removeShutdownHook: (() => void) | undefined;

  /** @internal Use `joinCluster`. */
  constructor(
    /** The actor system this node belongs to. */
    readonly system: ActorSystem,
    private readonly nc: NatsConnection,
    private readonly options: ResolvedJoinOptions,
    incarnation: string,
  ) {
    this.name = options.node;
    this.cluster = options.cluster;
    this.incarnation = incarnation;
    this.codec = options.codec;
    const prefix = `troupe.${options.cluster}`;
    this.subjects = { node: (name) => `${prefix}.node.${name}`, hb: `${prefix}.hb`, reg: `${prefix}.reg` };
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const maxMessageBytes = Math.min(options.maxMessageBytes, this.maxPayload - 4096);
    this.replies = new Replies(system);
    this.table = new RefTable(system, options.cluster, options.node, this.replies, () => this.transport);
    this.refs = this.table;
    const self = this;
    this.peers = new Peers(
      {
        name: this.name,
        incarnation,
        get connected() {
          return self.connectedNow;
        },
        get leaving() {
          return self.leaving !== null;
        },
        now: () => Date.now(),
        newLink: (node, inc) => this.newLink(node, inc),
        publishHeartbeat: (body) => this.publishRaw(this.subjects.hb, body),
        ackFor: (node, inc) => this.dispatch.ackFor(node, inc),
        up: (peer) => this.peerUp(peer),
        gone: (peer, how, silentMs, publish) => this.peerGone(peer, how, silentMs, publish),
        replaced: (node, inc) => this.dispatch.forget(node, inc),
      },
      options.downAfterMs,
    );
    this.registry = new Registry(system, this.name, incarnation, {
      cluster: this.cluster,
      publish: (body) => this.publishRaw(this.subjects.reg, body),
      decodeRef: (address) => this.table.decodeRef(address),
      addressOf: (ref) => this.table.encodeRef(ref) as string,
      isUp: (node, inc) => this.peers.isUp(node, inc),
      isKnown: (node, inc) => this.peers.get(node)?.incarnation === inc,
      updated: (node, inc) => this.joining?.registry(node, inc),
      now: () => Date.now(),
    });
    this.watches = new Watches({
      cluster: this.cluster,
      control: (node, entry, inc) => {
        const peer = inc === undefined ? this.peers.upPeer(node) : this.peers.current(node, inc);
        if (peer === undefined) return false;
        peer.link.control(entry);
        return true;
      },
      isLocal: (path, id) => typeof this.table.resolveLocal(path, id) !== 'string',
      gone: (address, reason) => this.table.markGone(address, reason),
      invalid: (data, error) => this.invalid(this.subjects.node(this.name), data, error),
    });
    this.dispatch = new Dispatch({
      name: this.name,
      incarnation,
      system,
      linkCapacity: options.linkCapacity,
      peers: this.peers,
      watches: this.watches,
      countersOf: (node) => this.countersOf(node),
      resolveLocal: (path, id) => this.table.resolveLocal(path, id),
      decode: (payload) => this.codec.decode(payload, this.refs),
      localAddress: (path) => this.localAddress(path),
      askFailed: (node, n, result) => {
        const gone = this.replies.failed(node, n, result);
        if (gone !== undefined) this.table.markGone(gone, { type: 'shutdown' });
      },
      invalid: (data, error) => this.invalid(this.subjects.node(this.name), data, error),
    });
    this.transport = remoteTransport({
      system,
      codec: this.codec,
      refs: this.refs,
      peers: this.peers,
      replies: this.replies,
      watches: this.watches,
      linkOverflow: options.linkOverflow,
      maxMessageBytes,
      countersOf: (node) => this.countersOf(node),
    });
  }

  /**
   * @internal Subscribes, announces itself, starts the failure detector, and resolves with the
   * first view of the cluster (see `joinCluster`).
   */
  async start(): Promise<void> {
    const subscribe = (subject: string, on: (data: Uint8Array) => void) => {
      this.subscriptions.push(
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err === null) on(msg.data);
          },
        }),
      );
    };
    subscribe(this.subjects.node(this.name), (data) => this.dispatch.onFrame(data));
    subscribe(this.subjects.hb, (data) => this.onHeartbeat(data));
    subscribe(this.subjects.reg, (data) => this.onRegistry(data));
    this.subscriptions.push(
      serveRpc(
        this.nc,
        rpcSubject(this.cluster, this.name),
        (request) => this.answer(request),
        (data, error) => this.invalid(rpcSubject(this.cluster, this.name), data, error),
      ),
    );
    await this.nc.flush(); // subscriptions are in place before anyone hears of us
    this.joining = new JoinView(this.name, this.options.heartbeatMs, this.options.downAfterMs, (node, inc) =>
      this.peers.isUp(node, inc),
    );
    this.unsubscribeEvents = this.system.events.subscribe((event) => {
      if (event.type === 'ActorStopped') {
        this.table.stopped(event.path, event.id);
        this.registry.stopped(event.path, event.id);
        this.watches.localStopped(event);
      }
    });
    this.removeShutdownHook = this.system.addShutdownHook(() => this.leave());
    void this.watchStatus();
    this.timer = setInterval(() => this.tick(), this.options.heartbeatMs);
    this.timer.unref();
    this.peers.heartbeat('join');
    try {
      await this.joining.ready;
    } finally {
      this.joining = null;
    }
  }

  /** @internal Undoes `start` after a failed join (the connection is closed by the caller). */
  abandon(): void {
    this.joining?.clear();
    clearInterval(this.timer);
    this.unsubscribeEvents?.();
    this.removeShutdownHook?.();
    this.registry.close();
    this.leaving ??= Promise.resolve();
    this.connectedNow = false;
  }

  /** Whether the connection to NATS is up now (messages to peers wait in their links while it is not). */
  get connected(): boolean {
    return this.connectedNow && this.leaving === null;
  }

  /** The nodes this node sees up, sorted (itself not included). */
  members(): string[] {
    return this.peers.members();
  }

  /** The cluster-wide address of a ref (local or remote), e.g. `troupe://shop@a/user/orders#…`. */
  addressOf(ref: ActorRef<Message>): string {
    const address = this.table.encodeRef(ref);
    if (address === undefined) throw new TypeError('addressOf: not an actor ref');
    return address;
  }

  /**
   * The ref behind a cluster-wide address `troupe://cluster@node/path#id` (an exact incarnation
   * of an actor, as `addressOf` gives). Throws `TypeError` on a malformed or foreign-cluster
   * address. To find whatever lives at a path now, use {@link resolve}.
   */
  refFor<M extends Message>(address: string): ActorRef<M> {
    return this.table.decodeRef(address) as unknown as ActorRef<M>;
  }

  /**
   * The actor that lives at a path on a node **now** (Erlang's `{Name, Node}`, Akka's
   * `ActorSelection`): for a well-known actor of a node that restarted, or for tools. `where`
   * is `troupe://cluster@node/path` (an `#id` too: then only that incarnation), or
   * `{ node, path }`. Resolves with an incarnation-exact ref (as `refFor` gives).
   *
   * - Nothing there: rejects with `ActorNotFoundError` (the node answered; not a timeout).
   * - The node is down, left or unknown: rejects at once with `NodeUnreachableError`.
   * - The node does not answer within `timeoutMs` (default: the system's `askTimeoutMs`):
   *   rejects with `AskTimeoutError`.
   * - A malformed address, an address of another cluster or a bad option: `TypeError`/`RangeError`.
   */
  async resolve<M extends Message>(
    where: ActorLocation,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<ActorRef<M>> {
    const target = this.location(where);
    const timeoutMs = options.timeoutMs ?? this.system.askTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new RangeError(`resolve: timeoutMs must be a finite number > 0; got ${String(timeoutMs)}`);
    const address = formatAddress({ system: this.cluster, node: target.node, path: target.path });
    if (target.node === this.name) {
      const ref = this.system.lookup(target.path);
      if (ref === undefined || (target.id !== undefined && ref.id !== target.id))
        throw new ActorNotFoundError(address);
      return ref as unknown as ActorRef<M>;
    }
    if (this.peers.upPeer(target.node) === undefined) throw new NodeUnreachableError(target.node, address);
    const request: RpcRequest =
      target.id === undefined
        ? { op: 'resolve', path: target.path }
        : { op: 'resolve', path: target.path, id: target.id };
    const answer = await requestRpc(this.nc, rpcSubject(this.cluster, target.node), request, timeoutMs);
    if (answer === 'noResponders') throw new NodeUnreachableError(target.node, address);
    if (answer === 'timeout') throw new AskTimeoutError(address, timeoutMs);
    if (typeof answer.id !== 'string') throw new ActorNotFoundError(address);
    return this.refFor<M>(
      formatAddress({ system: this.cluster, node: target.node, path: target.path, id: answer.id }),
    );
  }

  /**
   * Registers a local actor under `key`, cluster-wide (Akka's Receptionist). It is removed when
   * the actor stops, and from other nodes' view when this node leaves or goes down. Throws
   * `TypeError` for a ref that is not an actor of this node.
   */
  register<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    if (!this.system.owns(ref))
      throw new TypeError('register: only an actor of this node can be registered here');
    this.registry.register(key.id, ref as unknown as ActorRef<Message>);
  }

  /** Removes a registration made here. */
  unregister<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    this.registry.unregister(key.id, ref as unknown as ActorRef<Message>);
  }

  /**
   * The refs registered under `key` on every node this node sees up, as known now (local first).
   * Right after `joinCluster` this includes what every node registered before this one joined.
   */
  async find<M extends Message>(key: ServiceKey<M>): Promise<ActorRef<M>[]> {
    return this.registry.listing(key.id) as unknown as ActorRef<M>[];
  }

  /**
   * Waits until at least `count` refs (default 1) are registered under `key` (on any node up),
   * and resolves with all of them (as `find`). Rejects with `LookupTimeoutError` after
   * `timeoutMs` (default: the system's `askTimeoutMs`); `RangeError` for a bad option.
   */
  waitFor<M extends Message>(
    key: ServiceKey<M>,
    options: { readonly timeoutMs?: number; readonly count?: number } = {},
  ): Promise<ActorRef<M>[]> {
    const checks = new OptionChecks('waitFor');
    const timeoutMs = checks.run(() => {
      const ms = options.timeoutMs ?? this.system.askTimeoutMs;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new RangeError(`timeoutMs must be a finite number >= 0; got ${String(ms)}`);
      return ms;
    }, 0);
    const count = checks.run(() => {
      const n = options.count ?? 1;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
        throw new RangeError(`count must be an integer >= 1; got ${String(n)}`);
      return n;
    }, 1);
    try {
      checks.done();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ActorRef<M>[]>((resolve, reject) => {
      let found = 0;
      let done = false;
      let unsubscribe: (() => void) | undefined;
      const timer = setTimeout(() => {
        done = true;
        unsubscribe?.();
        reject(new LookupTimeoutError(key.id, timeoutMs, count, found));
      }, timeoutMs);
      unsubscribe = this.registry.subscribe(key.id, (refs) => {
        found = refs.length;
        if (done || refs.length < count) return;
        done = true;
        clearTimeout(timer);
        queueMicrotask(() => unsubscribe?.());
        resolve(refs as unknown as ActorRef<M>[]);
      });
      if (done) unsubscribe();
    });
  }

  /**
   * Calls `listener` with the refs under `key` now and on every change (registrations, actors
   * stopping, nodes joining, leaving or going down). Returns the function that unsubscribes.
   * A listener that throws is logged and stays subscribed.
   */
  subscribe<M extends Message>(
    key: ServiceKey<M>,
    listener: (refs: readonly ActorRef<M>[]) => void,
  ): () => void {
    return this.registry.subscribe(
      key.id,
      listener as unknown as (refs: readonly ActorRef<Message>[]) => void,
    );
  }

  /**
   * @internal For the cluster's own services (cluster topics): a subject under this cluster's
   * prefix, published to and subscribed on this node's connection, and the message codec.
   */
  channel(suffix: string): {
    readonly subject: string;
    publish(body: Uint8Array): void;
    subscribe(callback: (data: Uint8Array) => void): () => void;
    /** Resolves once the server has every subscription made so far. */
    flush(): Promise<void>;
    encode(value: unknown): Uint8Array | string;
    decode(bytes: Uint8Array): unknown;
  } {
    const subject = `troupe.${this.cluster}.${suffix}`;
    return {
      subject,
      publish: (body) => this.publishRaw(subject, body),
      subscribe: (callback) => {
        const sub = this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err === null) callback(msg.data);
          },
        });
        return () => sub.unsubscribe();
      },
      flush: () => this.nc.flush(),
      encode: (value) => this.codec.encode(value, this.refs),
      decode: (bytes) => this.codec.decode(bytes, this.refs),
    };
  }

  /** @internal The NATS connection, for the cluster's JetStream services (durable topics). */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** @internal Counts and dead-letters garbage a cluster service received on its subject. */
  invalidInput(subject: string, data: Uint8Array, error: unknown): void {
    this.invalid(subject, data, error);
  }

  /** Per-peer counters (see {@link PeerCounters} for how they reconcile). */
  stats(): ClusterStats {
    const peers: PeerStats[] = [];
    for (const [name, c] of this.counters) {
      const p = this.peers.get(name);
      peers.push({ node: name, status: p?.status ?? 'down', incarnation: p?.incarnation ?? '', ...c });
    }
    peers.sort((a, b) => (a.node < b.node ? -1 : 1));
    return {
      node: this.name,
      incarnation: this.incarnation,
      connected: this.connected,
      peers,
      invalidFrames: this.invalidFrames,
      staleFrames: this.dispatch.staleFrames,
    };
  }

  /**
   * Leaves gracefully: tells the cluster (peers see `NodeLeft` at once, not after the
   * detector's delay), flushes what the links hold, and closes the NATS connection. Watches of
   * remote actors end with `Terminated(nodeDown)`, asks in flight fail with
   * `NodeUnreachableError`, remote refs become unreachable. The actor system keeps running.
   * Idempotent.
   */
  leave(): Promise<void> {
    this.leaving ??= this.doLeave();
    return this.leaving;
  }

  private async doLeave(): Promise<void> {
    clearInterval(this.timer);
    this.registry.close();
    this.unsubscribeEvents?.();
    this.removeShutdownHook?.();
    this.peers.flushAll();
    try {
      this.publishRaw(this.subjects.hb, this.peers.heartbeatBody('leave'));
      await this.nc.drain();
    } catch {
      await this.nc.close().catch(() => {});
    }
    this.peers.goneAll('left', false);
    this.connectedNow = false;
  }

  // ---- wiring ------------------------------------------------------------------------------

  private location(where: ActorLocation): { node: string; path: string; id: string | undefined } {
    if (typeof where === 'string') {
      const parts = parseAddress(where);
      if (parts.system !== this.cluster)
        throw new TypeError(`resolve: address of another cluster: ${where.slice(0, 120)}`);
      if (parts.node === undefined)
        throw new TypeError(`resolve: address without a node: ${where.slice(0, 120)}`);
      return { node: parts.node, path: parts.path, id: parts.id };
    }
    if (
      where === null ||
      typeof where !== 'object' ||
      typeof where.node !== 'string' ||
      typeof where.path !== 'string'
    )
      throw new TypeError('resolve: give an address or { node, path }');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(where.node))
      throw new TypeError(`resolve: bad node name ${JSON.stringify(where.node).slice(0, 80)}`);
    if (!where.path.startsWith('/'))
      throw new TypeError(
        `resolve: path must start with '/'; got ${JSON.stringify(where.path).slice(0, 80)}`,
      );
    return { node: where.node, path: where.path, id: undefined };
  }

  /** What this node answers on its request-reply subject (see rpc.ts). */
  private answer(request: RpcRequest): Record<string, unknown> {
    if (request.op === 'probe') return { node: this.name, incarnation: this.incarnation };
    const ref = this.system.lookup(request.path);
    if (ref === undefined || (request.id !== undefined && ref.id !== request.id)) return { notFound: true };
    return { id: ref.id };
  }

  private newLink(node: string, incarnation: string): Link {
    const self = this;
    return new Link(
      {
        node: this.name,
        incarnation: this.incarnation,
        get connected() {
          return self.connectedNow;
        },
        maxPayload: this.maxPayload,
        resendAfterMs: Math.max(2 * this.options.heartbeatMs, this.options.downAfterMs / 2),
        now: () => Date.now(),
        publish: (subject, frame) => this.nc.publish(subject, frame),
        ackFor: (peer, inc) => this.dispatch.ackFor(peer, inc),
        undeliverable: (reason, entry, address) => {
          if (entry[0] !== 0) return;
          this.system.deadLetter(reason, this.tryDecode(entry[3]), address);
        },
        lost: (peer, count) => this.system.publish({ type: 'MessagesLost', node: peer, count }),
      },
      node,
      incarnation,
      this.subjects.node(node),
      this.options.linkCapacity,
      this.options.linkOverflow,
      this.options.maxBatch,
      this.countersOf(node),
    );
  }

  private localAddress(path: string): string {
    return `troupe://${this.cluster}@${this.name}${path}`;
  }

  private tryDecode(payload: Uint8Array): unknown {
    try {
      return this.codec.decode(payload, this.refs);
    } catch {
      return { bytes: payload.length };
    }
  }

  private invalid(subject: string, data: Uint8Array, error: unknown): void {
    this.invalidFrames++;
    this.system.deadLetter('invalid', { subject, bytes: data.length }, subject, error);
  }

  private tick(): void {
    this.peers.tick();
    if (++this.beats % ANTI_ENTROPY_BEATS === 0) this.registry.publishNow();
  }

  private onHeartbeat(data: Uint8Array): void {
    let hb: Heartbeat;
    try {
      hb = decodeHeartbeat(data);
    } catch (error) {
      this.invalid(this.subjects.hb, data, error);
      return;
    }
    if (hb.node === this.name) {
      if (hb.incarnation === this.incarnation) return;
      if (this.joining !== null) {
        // Another process has this name (it joined at the same time, or did not answer the probe).
        this.joining.fail(
          new ClusterJoinError(
            `cannot join cluster ${this.cluster} as ${this.name}: a live node already has that name (incarnation ${hb.incarnation})`,
          ),
        );
        return;
      }
      this.system.log.error({ node: hb.node }, 'another process uses this node name in the cluster');
      // Tell a newcomer with our name that we are here: it refuses to join.
      if (hb.kind === 'join') this.peers.heartbeat('hb');
      return;
    }
    const peer = this.peers.onHeartbeat(hb);
    this.joining?.heartbeat(hb);
    if (peer !== undefined && hb.kind === 'join') {
      this.peers.heartbeat('hb');
      this.registry.publishNow();
    }
  }

  private onRegistry(data: Uint8Array): void {
    try {
      this.registry.receive(data);
    } catch (error) {
      this.invalid(this.subjects.reg, data, error);
    }
  }

  private peerUp(peer: Peer): void {
    this.system.publish({ type: 'NodeUp', node: peer.name });
    try {
      this.registry.nodeUp(peer.name, peer.incarnation);
    } catch (error) {
      this.invalid(this.subjects.reg, new Uint8Array(0), error);
    }
    this.registry.publishSoon();
  }

  private peerGone(peer: Peer, how: 'down' | 'left', silentMs: number, publish: boolean): void {
    const node = peer.name;
    this.watches.peerGone(node);
    for (const reply of [...this.replies.pending()]) {
      if (reply.node === node) reply.fail(new NodeUnreachableError(node, reply.target));
    }
    this.registry.nodeGone(node);
    if (publish) {
      this.system.publish(how === 'left' ? { type: 'NodeLeft', node } : { type: 'NodeDown', node, silentMs });
    }
  }

  private countersOf(node: string): PeerCounters {
    let c = this.counters.get(node);
    if (c === undefined) {
      c = newCounters();
      this.counters.set(node, c);
    }
    return c;
  }

  private publishRaw(subject: string, body: string | Uint8Array): void {
    if (!this.connectedNow) return;
    try {
      this.nc.publish(subject, body);
    } catch (error) {
      this.system.log.debug({ err: error, subject }, 'cluster publish failed');
    }
  }

  private async watchStatus(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') {
          this.connectedNow = false;
          this.system.log.warn({ node: this.name }, 'cluster: NATS connection lost; reconnecting');
        } else if (status.type === 'reconnect') {
          this.connectedNow = true;
          this.system.log.warn({ node: this.name }, 'cluster: NATS connection back');
          this.peers.reconnected();
          this.peers.heartbeat('join');
        }
      }
    } catch (error) {
      this.system.log.debug({ err: error }, 'cluster: status stream ended');
    }
    if (this.leaving === null) {
      // The connection closed for good (not by leave()): same as leaving, without the goodbye.
      this.connectedNow = false;
      this.leaving = Promise.resolve();
      clearInterval(this.timer);
      this.peers.goneAll('down', true);
    }
  }
}
