import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { ActorRef, ActorSystem, Message } from '@troupe/runtime';
import type { Codec } from './codec.js';
import { watchConnection } from './connection.js';
import { Dispatch } from './dispatch.js';
import { NodeUnreachableError } from './errors.js';
import { type ActorLocation, answerResolve, type FindingHost, resolveActor, waitForKey } from './finding.js';
import { TELL } from './frame.js';
import { JoinView } from './join-view.js';
import { Link, type LinkHost } from './link.js';
import { decodeHeartbeat, type Heartbeat } from './membership.js';
import type { ResolvedJoinOptions } from './options.js';
import { type Peer, Peers } from './peers.js';
import { RefTable } from './refs.js';
import { Registry } from './registry.js';
import type { RemoteTransport } from './remote-ref.js';
import { Replies } from './replies.js';
import { type RpcRequest, rpcSubject, serveRpc } from './rpc.js';
import { type NodeService, Services } from './service.js';
import { type ServiceChannel, serviceChannel } from './service-channel.js';
import type { ServiceKey } from './service-key.js';
import { type ClusterStats, collectStats, newCounters, type PeerCounters } from './stats.js';
import { remoteTransport } from './transport.js';
import { Watches } from './watches.js';

const ANTI_ENTROPY_BEATS = 10;

/**
 * The machinery behind a {@link ClusterNode} (its public face, node.ts): the node's state and the
 * wiring of its parts, each in its own file: {@link Peers} (membership, failure detection),
 * {@link Link} (an outbound link per peer, with its retransmit window), {@link Dispatch} (frames
 * in), `transport.ts` (what remote refs do), {@link Watches} (death watch across nodes),
 * {@link Replies} (asks' reply refs), {@link Registry}, `finding.ts` (resolve, waitFor), `rpc.ts`
 * (questions to one node). Cluster services (sharding) plug in through {@link NodeService}.
 *
 * @internal
 */
export class NodeCore {
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
  private readonly codec: Codec;
  private readonly transport: RemoteTransport;
  private readonly finding: FindingHost;
  private readonly linkHost: LinkHost;
  private readonly subjects: { node: (name: string) => string; hb: string; reg: string };
  private readonly subscriptions: Subscription[] = [];
  private readonly services: Services;
  private unsubscribeEvents: (() => void) | undefined;
  private removeShutdownHook: (() => void) | undefined;

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
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const maxMessageBytes = Math.min(options.maxMessageBytes, maxPayload - 4096);
    this.replies = new Replies(system);
    this.services = new Services(system.log);
    this.table = new RefTable(system, options.cluster, options.node, this.replies, () => this.transport);
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
      linkCapacity: options.link.capacity,
      peers: this.peers,
      watches: this.watches,
      countersOf: (node) => this.countersOf(node),
      resolveLocal: (path, id) => this.table.resolveLocal(path, id),
      decode: (payload) => this.codec.decode(payload, this.table),
      localAddress: (path) => this.localAddress(path),
      askFailed: (node, n, result) => {
        const gone = this.replies.failed(node, n, result);
        if (gone !== undefined) this.table.markGone(gone, { type: 'shutdown' });
      },
      invalid: (data, error) => this.invalid(this.subjects.node(this.name), data, error),
    });
    this.linkHost = {
      node: this.name,
      incarnation,
      get connected() {
        return self.connectedNow;
      },
      maxPayload,
      resendAfterMs: Math.max(2 * options.heartbeatMs, options.downAfterMs / 2),
      now: () => Date.now(),
      publish: (subject, frame) => this.nc.publish(subject, frame),
      ackFor: (peer, inc) => this.dispatch.ackFor(peer, inc),
      undeliverable: (reason, entry, address) => {
        if (entry[0] === TELL) this.system.deadLetter(reason, this.tryDecode(entry[3]), address);
      },
      lost: (peer, count) => this.system.publish({ type: 'MessagesLost', node: peer, count }),
    };
    this.finding = {
      name: this.name,
      cluster: this.cluster,
      system,
      nc,
      peers: this.peers,
      registry: this.registry,
      refFor: (address) => this.refFor(address),
    };
    this.transport = remoteTransport({
      system,
      codec: this.codec,
      refs: this.table,
      peers: this.peers,
      replies: this.replies,
      watches: this.watches,
      linkOverflow: options.link.overflow,
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

  get connected(): boolean {
    return this.connectedNow && this.leaving === null;
  }

  members(): string[] {
    return this.peers.members();
  }

  addressOf(ref: ActorRef<Message>): string {
    const address = this.table.encodeRef(ref);
    if (address === undefined) throw new TypeError('addressOf: not an actor ref');
    return address;
  }

  refFor<M extends Message>(address: string): ActorRef<M> {
    return this.table.decodeRef(address) as unknown as ActorRef<M>;
  }

  resolve<M extends Message>(
    where: ActorLocation,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<ActorRef<M>> {
    return resolveActor<M>(this.finding, where, options);
  }

  register<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    if (!this.system.owns(ref))
      throw new TypeError('register: only an actor of this node can be registered here');
    this.registry.register(key.id, ref as unknown as ActorRef<Message>);
  }

  unregister<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    this.registry.unregister(key.id, ref as unknown as ActorRef<Message>);
  }

  async find<M extends Message>(key: ServiceKey<M>): Promise<ActorRef<M>[]> {
    return this.registry.listing(key.id) as unknown as ActorRef<M>[];
  }

  waitFor<M extends Message>(
    key: ServiceKey<M>,
    options: { readonly timeoutMs?: number; readonly count?: number } = {},
  ): Promise<ActorRef<M>[]> {
    return waitForKey(this.registry, key.id, options, this.system.askTimeoutMs) as Promise<ActorRef<M>[]>;
  }

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
  channel(suffix: string): ServiceChannel {
    return serviceChannel(
      this.nc,
      `troupe.${this.cluster}.${suffix}`,
      this.codec,
      this.table,
      (subject, body) => this.publishRaw(subject, body),
    );
  }

  /** @internal The NATS connection, for the cluster's JetStream services (durable topics). */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** @internal Counts and dead-letters garbage a cluster service received on its subject. */
  invalidInput(subject: string, data: Uint8Array, error: unknown): void {
    this.invalid(subject, data, error);
  }

  stats(): ClusterStats {
    return collectStats(this, this.counters, this.peers, this.invalidFrames, this.dispatch.staleFrames);
  }

  leave(): Promise<void> {
    this.leaving ??= this.doLeave();
    return this.leaving;
  }

  private async doLeave(): Promise<void> {
    clearInterval(this.timer);
    await this.services.close();
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

  /** What this node answers on its request-reply subject (see rpc.ts). */
  private answer(request: RpcRequest): Record<string, unknown> {
    if (request.op === 'probe') return { node: this.name, incarnation: this.incarnation };
    return answerResolve(this.system, request.path, request.id);
  }

  private newLink(node: string, inc: string): Link {
    return new Link(
      this.linkHost,
      node,
      inc,
      this.subjects.node(node),
      this.options.link,
      this.countersOf(node),
    );
  }

  private localAddress(path: string): string {
    return `troupe://${this.cluster}@${this.name}${path}`;
  }

  private tryDecode(payload: Uint8Array): unknown {
    try {
      return this.codec.decode(payload, this.table);
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
      // Another process has this name: it joined at the same time, or did not answer the probe.
      if (this.joining?.sameName(hb, this.cluster)) return;
      this.system.log.error({ node: hb.node }, 'another process uses this node name in the cluster');
      if (hb.kind === 'join') this.peers.heartbeat('hb'); // a newcomer with our name refuses to join
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

  /** A one-shot reply ref, reachable from every node, that settles the returned promise. */
  askReply<R extends Message>(
    target: string,
    timeoutMs: number,
  ): { ref: ActorRef<R>; promise: Promise<R>; fail(error: unknown): void } {
    const { ref, promise } = this.replies.ask<R>(target, '', timeoutMs);
    return { ref: ref as unknown as ActorRef<R>, promise, fail: (error) => ref.fail(error) };
  }

  /** Sharding: how entity refs that arrive inside messages are made. */
  entityRefs(resolver: (type: string, id: string) => ActorRef<Message>): void {
    this.table.entities = resolver;
  }

  /** Plugs a cluster service in (see service.ts); returns the function that detaches it. */
  attach(service: NodeService): () => void {
    return this.services.attach(service);
  }

  private peerUp(peer: Peer): void {
    this.system.publish({ type: 'NodeUp', node: peer.name });
    this.services.peerUp(peer.name, peer.incarnation);
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
    this.services.peerGone(node, peer.incarnation, how);
    if (publish) {
      this.system.publish(how === 'left' ? { type: 'NodeLeft', node } : { type: 'NodeDown', node, silentMs });
    }
  }

  private countersOf(node: string): PeerCounters {
    const c = this.counters.get(node) ?? newCounters();
    this.counters.set(node, c);
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
    await watchConnection(this.nc, this.system.log, this.name, {
      disconnected: () => {
        this.connectedNow = false;
      },
      reconnected: () => {
        this.connectedNow = true;
        this.peers.reconnected();
        this.peers.heartbeat('join');
      },
    });
    if (this.leaving === null) {
      // The connection closed for good (not by leave()): same as leaving, without the goodbye.
      this.connectedNow = false;
      this.leaving = Promise.resolve();
      clearInterval(this.timer);
      this.peers.goneAll('down', true);
    }
  }
}
