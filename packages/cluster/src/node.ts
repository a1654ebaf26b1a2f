import {
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  type ActorRef,
  type ActorStopped,
  type ActorSystem,
  type AskOptions,
  type DeadLetterReason,
  type ExitReason,
  type ForeignWatcher,
  formatAddress,
  type Message,
  MessageDroppedError,
  type TrySendResult,
  type WaitOptions,
} from '@troupe/runtime';
import type { Codec, RefCodec } from './codec.js';
import { ClusterJoinError, MessageEncodeError, NodeUnreachableError } from './errors.js';
import { decodeReason, encodeReason } from './exit-reasons.js';
import { ACK, decodeFrame, type Entry, type OutEntry, TELL, TERMINATED, UNWATCH, WATCH } from './frame.js';
import { Inbound, type InboundHost } from './inbound.js';
import { Link, type LinkHost } from './link.js';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat, type HeartbeatKind } from './membership.js';
import { type JoinOptions, type ResolvedJoinOptions, validateJoinOptions } from './options.js';
import { RefTable } from './refs.js';
import { Registry } from './registry.js';
import type { RemoteRef, RemoteTransport } from './remote-ref.js';
import { Replies } from './replies.js';
import type { ServiceKey } from './service-key.js';
import { type ClusterStats, newCounters, type PeerCounters, type PeerStats } from './stats.js';
import { outgoingTraceparent } from './traceparent.js';

interface Peer {
  readonly name: string;
  readonly incarnation: string;
  status: 'up' | 'down' | 'left';
  lastSeen: number;
  readonly link: Link;
}

interface Watched {
  readonly ref: RemoteRef<Message>;
  readonly watchers: Set<ForeignWatcher>;
}

const ANTI_ENTROPY_BEATS = 10;

/**
 * Joins `system` to a cluster over NATS and resolves with this node once connected and
 * subscribed. Options are validated first (a `TypeError`/`RangeError` naming the field,
 * before anything connects); a refused connection (wrong credentials, no server, TLS) rejects
 * with `ClusterJoinError`. `system.shutdown()` leaves the cluster gracefully at its end.
 *
 * Delivery between nodes is at most once and ordered per sender–receiver pair, as in Erlang and
 * Akka; nothing vanishes uncounted (see `RemoteRef` for each operation's contract, and
 * `ClusterNode.stats()` for the per-peer counters that reconcile exactly).
 */
export async function joinCluster(system: ActorSystem, options: JoinOptions): Promise<ClusterNode> {
  const incarnation = randomId();
  const resolved = validateJoinOptions(options, system.name, incarnation.slice(0, 6));
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(resolved));
  } catch (error) {
    throw new ClusterJoinError(
      `cannot join cluster ${resolved.cluster} as ${resolved.node}: NATS at ${resolved.servers.join(', ')} refused: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  const node = new ClusterNode(system, nc, resolved, incarnation);
  try {
    await node.start();
  } catch (error) {
    await nc.close().catch(() => {});
    throw new ClusterJoinError(`cannot join cluster ${resolved.cluster}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return node;
}

/**
 * This process's node in a cluster. Refs of actors on other nodes arrive inside messages (or
 * from the registry, or `refFor`) and work like local ones; see `joinCluster`.
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
  private readonly peers = new Map<string, Peer>();
  private readonly counters = new Map<string, PeerCounters>();
  private readonly inbounds = new Map<string, Inbound>();
  private readonly watching = new Map<string, Watched>();
  /** `path#id` of a local actor → the peers watching it. */
  private readonly watchedBy = new Map<string, Set<string>>();
  private readonly table: RefTable;
  private readonly replies: Replies;
  private readonly registry: Registry;
  private readonly refs: RefCodec;
  private readonly codec: Codec;
  private readonly subjects: { node: (name: string) => string; hb: string; reg: string };
  private readonly maxPayload: number;
  private readonly maxMessageBytes: number;
  private unsubscribeEvents: (() => void) | undefined;
  private removeShutdownHook: (() => void) | undefined;
  private readonly transport: RemoteTransport;
  private readonly linkHost: LinkHost;
  private readonly inboundHost: InboundHost;

  /** @internal Use {@link joinCluster}. */
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
    this.maxMessageBytes = Math.min(options.maxMessageBytes, this.maxPayload - 4096);
    this.replies = new Replies(system);
    this.table = new RefTable(system, options.cluster, options.node, this.replies, () => this.transport);
    this.refs = this.table;
    this.registry = new Registry(system, this.name, incarnation, {
      publish: (body) => this.publishRaw(this.subjects.reg, body),
      decodeRef: (address) => this.table.decodeRef(address),
      addressOf: (ref) => this.table.encodeRef(ref) as string,
      isUp: (node, incarnation) => this.peerUp(node, incarnation),
      isKnown: (node) => this.peers.has(node),
    });
    this.transport = this.makeTransport();
    const self = this;
    this.linkHost = {
      node: this.name,
      incarnation: this.incarnation,
      get connected() {
        return self.connectedNow;
      },
      maxPayload: this.maxPayload,
      publish: (subject, frame) => this.nc.publish(subject, frame),
      undeliverable: (reason, entry, address) => {
        if (entry[0] !== TELL) return;
        this.system.deadLetter(reason, this.tryDecode(entry[3]), address);
      },
    };
    this.inboundHost = {
      resolveLocal: (path, id) => this.table.resolveLocal(path, id),
      decode: (payload) => this.codec.decode(payload, this.refs),
      deadLetter: (reason, message, recipient) =>
        this.system.deadLetter(reason, message, this.localAddress(recipient)),
      ack: (peer, peerIncarnation, n, result) => this.sendControl(peer, peerIncarnation, [ACK, n, result]),
      control: (peer, peerIncarnation, entry) => this.onControl(peer, peerIncarnation, entry),
      lost: (peer, count) => this.system.publish({ type: 'MessagesLost', node: peer, count }),
      duplicate: (peer, seq) => {
        this.invalidFrames++;
        this.system.deadLetter('invalid', { duplicateFrom: peer, seq }, this.subjects.node(this.name));
      },
    };
  }

  /** @internal Subscribes, announces itself and starts the failure detector. */
  async start(): Promise<void> {
    this.nc.subscribe(this.subjects.node(this.name), {
      callback: (err, msg) => {
        if (err === null) this.onFrame(msg.data);
      },
    });
    this.nc.subscribe(this.subjects.hb, {
      callback: (err, msg) => {
        if (err === null) this.onHeartbeat(msg.data);
      },
    });
    this.nc.subscribe(this.subjects.reg, {
      callback: (err, msg) => {
        if (err === null) this.onRegistry(msg.data);
      },
    });
    await this.nc.flush(); // subscriptions are in place before anyone hears of us
    this.unsubscribeEvents = this.system.events.subscribe((event) => {
      if (event.type === 'ActorStopped') this.onLocalStopped(event);
    });
    this.removeShutdownHook = this.system.addShutdownHook(() => this.leave());
    void this.watchStatus();
    this.timer = setInterval(() => this.tick(), this.options.heartbeatMs);
    this.timer.unref();
    this.heartbeat('join');
  }

  /** Whether the connection to NATS is up now (messages to peers wait in their links while it is not). */
  get connected(): boolean {
    return this.connectedNow && this.leaving === null;
  }

  /** The nodes this node sees up, sorted (itself not included). */
  members(): string[] {
    return [...this.peers.values()]
      .filter((p) => p.status === 'up')
      .map((p) => p.name)
      .sort();
  }

  /** The cluster-wide address of a ref (local or remote), e.g. `troupe://shop@a/user/orders#…`. */
  addressOf(ref: ActorRef<Message>): string {
    const address = this.table.encodeRef(ref);
    if (address === undefined) throw new TypeError('addressOf: not an actor ref');
    return address;
  }

  /** The ref behind a cluster-wide address. Throws `TypeError` on a malformed or foreign-cluster address. */
  refFor<M extends Message>(address: string): ActorRef<M> {
    return this.table.decodeRef(address) as unknown as ActorRef<M>;
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

  /** The refs registered under `key` on every node this node sees up, as known now (local first). */
  async find<M extends Message>(key: ServiceKey<M>): Promise<ActorRef<M>[]> {
    return this.registry.listing(key.id) as unknown as ActorRef<M>[];
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
    for (const peer of this.peers.values()) if (peer.status === 'up') peer.link.flush();
    try {
      this.publishRaw(this.subjects.hb, encodeHeartbeat(this.heartbeatBody('leave')));
      await this.nc.drain();
    } catch {
      await this.nc.close().catch(() => {});
    }
    for (const peer of [...this.peers.values()])
      if (peer.status === 'up') this.peerGone(peer, 'left', 0, false);
    this.connectedNow = false;
  }

  // ---- refs on the wire ---------------------------------------------------------------------

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

  /** Encodes a message for `ref`; throws `MessageEncodeError` (or `TypeError` for a non-message). */
  private encode(ref: RemoteRef<Message>, message: unknown): Buffer {
    if (!isMessage(message)) {
      throw new TypeError(`message to ${ref.address} must be an object with a string "type"`);
    }
    let encoded: Uint8Array | string;
    try {
      encoded = this.codec.encode(message, this.refs);
    } catch (error) {
      throw new MessageEncodeError(
        ref.address,
        `${this.codec.name} codec: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      );
    }
    const bytes =
      typeof encoded === 'string'
        ? Buffer.from(encoded, 'utf8')
        : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    if (bytes.length > this.maxMessageBytes) {
      throw new MessageEncodeError(
        ref.address,
        `${bytes.length} bytes is over maxMessageBytes (${this.maxMessageBytes})`,
      );
    }
    return bytes;
  }

  // ---- the remote refs' transport -----------------------------------------------------------

  private makeTransport(): RemoteTransport {
    const counters = (node: string) => this.countersOf(node);
    return {
      tell: (ref, message) => {
        const peer = this.upPeer(ref.node);
        if (peer === undefined) {
          counters(ref.node).undeliverable++;
          this.system.deadLetter(isMessage(message) ? 'unreachable' : 'invalid', message, ref.address);
          return;
        }
        let payload: Buffer;
        try {
          payload = this.encode(ref, message);
        } catch (error) {
          counters(ref.node).undeliverable++;
          this.system.deadLetter('invalid', message, ref.address, error);
          return;
        }
        if (!peer.link.offerTell(this.tellEntry(ref, payload))) {
          counters(ref.node).undeliverable++;
          const reason: DeadLetterReason =
            this.options.linkOverflow === 'dropNewest' ? 'dropped' : 'mailboxFull';
          this.system.deadLetter(reason, message, ref.address);
        }
      },
      trySend: (ref, message) => {
        const payload = this.encode(ref, message); // throws: misuse, as for a local trySend
        const peer = this.upPeer(ref.node);
        if (peer === undefined)
          return { ok: false, reason: 'closed', value: message } as TrySendResult<unknown>;
        if (peer.link.offerTell(this.tellEntry(ref, payload))) return { ok: true };
        if (this.options.linkOverflow === 'dropNewest') {
          counters(ref.node).undeliverable++;
          this.system.deadLetter('dropped', message, ref.address);
          return { ok: false, reason: 'dropped' } as TrySendResult<unknown>;
        }
        return { ok: false, reason: 'full', value: message } as TrySendResult<unknown>;
      },
      send: async (ref, message, options?: WaitOptions) => {
        const payload = this.encode(ref, message);
        const peer = this.upPeer(ref.node);
        if (peer === undefined) {
          counters(ref.node).undeliverable++;
          throw new NodeUnreachableError(ref.node, ref.address);
        }
        const traceparent = outgoingTraceparent(this.system);
        await peer.link.send(ref.path, ref.id, payload, ref.address, options?.signal, traceparent);
      },
      ask: <R extends Message>(
        ref: RemoteRef<Message>,
        build: (replyTo: ActorRef<R>) => unknown,
        options?: AskOptions,
      ) => this.ask<R>(ref, build, options),
      watch: (ref, watcher) => {
        const peer = this.upPeer(ref.node);
        if (peer === undefined) {
          watcher.terminated({ type: 'nodeDown', node: ref.node });
          return;
        }
        let entry = this.watching.get(ref.address);
        if (entry === undefined) {
          entry = { ref, watchers: new Set() };
          this.watching.set(ref.address, entry);
          peer.link.control([WATCH, ref.path, ref.id]);
        }
        entry.watchers.add(watcher);
      },
      unwatch: (ref, watcher) => {
        const entry = this.watching.get(ref.address);
        if (entry === undefined) return;
        entry.watchers.delete(watcher);
        if (entry.watchers.size > 0) return;
        this.watching.delete(ref.address);
        this.upPeer(ref.node)?.link.control([UNWATCH, ref.path, ref.id]);
      },
    };
  }

  /** A tell entry; with the sender's traceparent when this system traces and a span is current. */
  private tellEntry(ref: RemoteRef<Message>, payload: Buffer): OutEntry {
    const traceparent = outgoingTraceparent(this.system);
    return traceparent === undefined
      ? [TELL, ref.path, ref.id, payload]
      : [TELL, ref.path, ref.id, payload, traceparent];
  }

  private ask<R extends Message>(
    ref: RemoteRef<Message>,
    build: (replyTo: ActorRef<R>) => unknown,
    options?: AskOptions,
  ): Promise<R> {
    const timeoutMs = options?.timeoutMs ?? this.system.askTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new RangeError(`ask: timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
      );
    }
    if (typeof build !== 'function') return Promise.reject(new TypeError('ask: build must be a function'));
    const peer = this.upPeer(ref.node);
    if (peer === undefined) {
      this.countersOf(ref.node).undeliverable++;
      return Promise.reject(new NodeUnreachableError(ref.node, ref.address));
    }
    const { ref: reply, promise } = this.replies.ask<R>(ref.address, ref.node, timeoutMs);
    try {
      const message = build(reply as unknown as ActorRef<R>);
      const payload = this.encode(ref, message);
      if (!peer.link.offerTell(this.tellEntry(ref, payload))) {
        this.countersOf(ref.node).undeliverable++;
        reply.fail(new MessageDroppedError(ref.address));
      }
    } catch (error) {
      reply.fail(error);
    }
    return promise;
  }

  // ---- inbound ------------------------------------------------------------------------------

  private onFrame(data: Uint8Array): void {
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
      if (frame.from === this.name || !NAME.test(frame.from) || frame.incarnation.length > 64) {
        throw new TypeError('frame from a bad sender');
      }
    } catch (error) {
      this.invalid(this.subjects.node(this.name), data, error);
      return;
    }
    // Only heartbeats make a peer up; a frame just proves a known peer is alive.
    const peer = this.peers.get(frame.from);
    if (peer !== undefined && peer.status === 'up' && peer.incarnation === frame.incarnation)
      peer.lastSeen = Date.now();
    const key = `${frame.from}|${frame.incarnation}|${frame.target}`;
    let inbound = this.inbounds.get(key);
    if (inbound === undefined) {
      inbound = new Inbound(
        this.inboundHost,
        frame.from,
        frame.incarnation,
        this.countersOf(frame.from),
        this.options.linkCapacity,
      );
      this.inbounds.set(key, inbound);
    }
    inbound.receive(frame);
  }

  private invalid(subject: string, data: Uint8Array, error: unknown): void {
    this.invalidFrames++;
    this.system.deadLetter('invalid', { subject, bytes: data.length }, subject, error);
  }

  private onControl(peerName: string, peerIncarnation: string, entry: Entry): void {
    const peer = this.peers.get(peerName);
    const current = peer !== undefined && peer.status === 'up' && peer.incarnation === peerIncarnation;
    switch (entry[0]) {
      case ACK:
        if (current) peer.link.acked(entry[1], entry[2]);
        return;
      case WATCH: {
        const [, path, id] = entry;
        const target = this.table.resolveLocal(path, id);
        if (typeof target === 'string') {
          this.sendControl(peerName, peerIncarnation, [
            TERMINATED,
            path,
            id,
            encodeReason({ type: 'shutdown' }),
          ]);
          return;
        }
        const key = `${path}#${id}`;
        let set = this.watchedBy.get(key);
        if (set === undefined) {
          set = new Set();
          this.watchedBy.set(key, set);
        }
        set.add(peerName);
        return;
      }
      case UNWATCH:
        this.watchedBy.get(`${entry[1]}#${entry[2]}`)?.delete(peerName);
        return;
      case TERMINATED: {
        const address = formatAddress({ system: this.cluster, node: peerName, path: entry[1], id: entry[2] });
        const watched = this.watching.get(address);
        if (watched === undefined) return;
        let reason: ExitReason;
        try {
          reason = decodeReason(entry[3]);
        } catch (error) {
          this.invalid(this.subjects.node(this.name), entry[3], error);
          return;
        }
        this.watching.delete(address);
        for (const watcher of watched.watchers) watcher.terminated(reason);
        return;
      }
    }
  }

  private sendControl(peerName: string, peerIncarnation: string, entry: OutEntry): void {
    const peer = this.peers.get(peerName);
    if (peer !== undefined && peer.status === 'up' && peer.incarnation === peerIncarnation)
      peer.link.control(entry);
  }

  private onLocalStopped(event: ActorStopped): void {
    this.table.stopped(event.path, event.id);
    this.registry.stopped(event.path, event.id);
    const key = `${event.path}#${event.id}`;
    const nodes = this.watchedBy.get(key);
    if (nodes === undefined) return;
    this.watchedBy.delete(key);
    const reason = encodeReason(event.reason);
    for (const node of nodes) this.upPeer(node)?.link.control([TERMINATED, event.path, event.id, reason]);
  }

  // ---- membership ---------------------------------------------------------------------------

  private heartbeatBody(kind: HeartbeatKind): Heartbeat {
    const seqs = new Map<string, readonly [string, number]>();
    for (const peer of this.peers.values()) {
      if (peer.status === 'up') seqs.set(peer.name, [peer.incarnation, peer.link.lastSeq]);
    }
    return { kind, node: this.name, incarnation: this.incarnation, seqs };
  }

  private heartbeat(kind: HeartbeatKind): void {
    if (!this.connectedNow) return;
    this.publishRaw(this.subjects.hb, encodeHeartbeat(this.heartbeatBody(kind)));
  }

  private tick(): void {
    this.heartbeat('hb');
    if (++this.beats % ANTI_ENTROPY_BEATS === 0) this.registry.publishNow();
    const now = Date.now();
    for (const peer of [...this.peers.values()]) {
      const silent = now - peer.lastSeen;
      if (peer.status === 'up' && silent > this.options.downAfterMs)
        this.peerGone(peer, 'down', silent, true);
    }
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
      if (hb.incarnation !== this.incarnation) {
        this.system.log.error({ node: hb.node }, 'another process uses this node name in the cluster');
      }
      return;
    }
    if (hb.kind === 'leave') {
      const peer = this.peers.get(hb.node);
      if (peer !== undefined && peer.status === 'up' && peer.incarnation === hb.incarnation) {
        this.peerGone(peer, 'left', 0, true);
      }
      return;
    }
    this.seen(hb.node, hb.incarnation);
    const claim = hb.seqs.get(this.name);
    if (claim !== undefined && claim[0] === this.incarnation) {
      this.inbounds.get(`${hb.node}|${hb.incarnation}|${this.incarnation}`)?.claim(claim[1]);
    }
    if (hb.kind === 'join') {
      this.heartbeat('hb');
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

  /**
   * A heartbeat from `node`: it is up. A new incarnation replaces the old one (down, then up);
   * the same incarnation back after being declared down (a partition, a broker restart) reopens
   * the same link, whose sequence numbers go on, so what was lost meanwhile is reported.
   */
  private seen(node: string, incarnation: string): void {
    if (this.leaving !== null) return;
    const peer = this.peers.get(node);
    if (peer !== undefined && peer.incarnation === incarnation) {
      peer.lastSeen = Date.now();
      if (peer.status === 'up') return;
      if (peer.status === 'left') return; // it said goodbye: stray heartbeats do not bring it back
      peer.status = 'up';
      peer.link.reopen();
      this.system.publish({ type: 'NodeUp', node });
      this.registry.publishSoon();
      return;
    }
    if (peer !== undefined) {
      if (peer.status === 'up') this.peerGone(peer, 'down', Date.now() - peer.lastSeen, true);
      // The old incarnation is gone for good: so is what was known of its links.
      for (const key of [...this.inbounds.keys()]) {
        if (key.startsWith(`${node}|${peer.incarnation}|`)) this.inbounds.delete(key);
      }
    }
    const link = new Link(
      this.linkHost,
      node,
      incarnation,
      this.subjects.node(node),
      this.options.linkCapacity,
      this.options.linkOverflow,
      this.options.maxBatch,
      this.countersOf(node),
    );
    this.peers.set(node, { name: node, incarnation, status: 'up', lastSeen: Date.now(), link });
    this.system.publish({ type: 'NodeUp', node });
    this.registry.publishSoon();
  }

  private peerUp(node: string, incarnation: string): boolean {
    const peer = this.peers.get(node);
    return peer !== undefined && peer.status === 'up' && peer.incarnation === incarnation;
  }

  private upPeer(node: string): Peer | undefined {
    const peer = this.peers.get(node);
    return peer !== undefined && peer.status === 'up' && this.leaving === null ? peer : undefined;
  }

  private peerGone(peer: Peer, how: 'down' | 'left', silentMs: number, publish: boolean): void {
    peer.status = how;
    peer.link.close();
    const node = peer.name;
    for (const [address, watched] of [...this.watching]) {
      if (watched.ref.node !== node) continue;
      this.watching.delete(address);
      for (const watcher of watched.watchers) watcher.terminated({ type: 'nodeDown', node });
    }
    for (const set of this.watchedBy.values()) set.delete(node);
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
          for (const peer of this.peers.values()) if (peer.status === 'up') peer.link.flush();
          this.heartbeat('join');
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
      for (const peer of [...this.peers.values()])
        if (peer.status === 'up') this.peerGone(peer, 'down', 0, true);
    }
  }
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { type?: unknown }).type === 'string';
  } catch {
    return false;
  }
}

function randomId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 16);
}

function connectionOptions(o: ResolvedJoinOptions): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: o.servers,
    name: `troupe:${o.cluster}:${o.node}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: o.connectTimeoutMs,
    pingInterval: 10_000,
  };
  const auth = o.auth;
  if (auth !== undefined) {
    if ('token' in auth) options.token = auth.token;
    else if ('user' in auth) {
      options.user = auth.user;
      options.pass = auth.pass;
    } else if ('nkeySeed' in auth)
      options.authenticator = nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed));
    else options.authenticator = credsAuthenticator(new TextEncoder().encode(auth.creds));
  }
  if (o.tls !== undefined) options.tls = { ...o.tls };
  return options;
}
