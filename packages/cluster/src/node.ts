import type { NatsConnection } from '@nats-io/nats-core';
import type { ActorRef, ActorSystem, Message } from '@troupe/runtime';
import { NodeCore } from './core.js';
import type { ActorLocation } from './finding.js';
import type { ResolvedJoinOptions } from './options.js';
import type { NodeService } from './service.js';
import type { ServiceChannel } from './service-channel.js';
import type { ServiceKey } from './service-key.js';
import type { ClusterStats } from './stats.js';

/**
 * This process's node in a cluster (made by `joinCluster`). Refs of actors on other nodes
 * arrive inside messages, from the registry, by path (`resolve`) or from an address (`refFor`),
 * and work like local ones. The machinery is in core.ts (`NodeCore`); this is its public face.
 */
export class ClusterNode {
  /** This node's name. */
  readonly name: string;
  /** The cluster's name. */
  readonly cluster: string;
  /** Random per process: a node restarted under the same name is a new incarnation. */
  readonly incarnation: string;
  readonly #core: NodeCore;

  /** @internal Use `joinCluster`. */
  constructor(
    /** The actor system this node belongs to. */
    readonly system: ActorSystem,
    nc: NatsConnection,
    options: ResolvedJoinOptions,
    incarnation: string,
  ) {
    this.name = options.node;
    this.cluster = options.cluster;
    this.incarnation = incarnation;
    this.#core = new NodeCore(system, nc, options, incarnation);
  }

  /** @internal Subscribes, announces itself, and resolves with the first view of the cluster. */
  start(): Promise<void> {
    return this.#core.start();
  }

  /** @internal Undoes `start` after a failed join (the connection is closed by the caller). */
  abandon(): void {
    this.#core.abandon();
  }

  /** Whether the connection to NATS is up now (messages to peers wait in their links while it is not). */
  get connected(): boolean {
    return this.#core.connected;
  }

  /** The nodes this node sees up, sorted (itself not included). */
  members(): string[] {
    return this.#core.members();
  }

  /** The cluster-wide address of a ref (local or remote), e.g. `troupe://shop@a/user/orders#…`. */
  addressOf(ref: ActorRef<Message>): string {
    return this.#core.addressOf(ref);
  }

  /**
   * The ref behind a cluster-wide address `troupe://cluster@node/path#id` (an exact incarnation
   * of an actor, as `addressOf` gives). Throws `TypeError` on a malformed or foreign-cluster
   * address. To find whatever lives at a path now, use {@link resolve}.
   */
  refFor<M extends Message>(address: string): ActorRef<M> {
    return this.#core.refFor<M>(address);
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
  resolve<M extends Message>(
    where: ActorLocation,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<ActorRef<M>> {
    return this.#core.resolve<M>(where, options);
  }

  /**
   * Registers a local actor under `key`, cluster-wide (Akka's Receptionist). It is removed when
   * the actor stops, and from other nodes' view when this node leaves or goes down. Throws
   * `TypeError` for a ref that is not an actor of this node.
   */
  register<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    this.#core.register(key, ref);
  }

  /** Removes a registration made here. */
  unregister<M extends Message>(key: ServiceKey<M>, ref: ActorRef<M>): void {
    this.#core.unregister(key, ref);
  }

  /**
   * The refs registered under `key` on every node this node sees up, as known now (local first).
   * Right after `joinCluster` this includes what every node registered before this one joined.
   */
  find<M extends Message>(key: ServiceKey<M>): Promise<ActorRef<M>[]> {
    return this.#core.find(key);
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
    return this.#core.waitFor(key, options);
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
    return this.#core.subscribe(key, listener);
  }

  /** Per-peer counters (see {@link PeerCounters} for how they reconcile). */
  stats(): ClusterStats {
    return this.#core.stats();
  }

  /**
   * Leaves gracefully: tells the cluster (peers see `NodeLeft` at once, not after the
   * detector's delay), flushes what the links hold, and closes the NATS connection. Watches of
   * remote actors end with `Terminated(nodeDown)`, asks in flight fail with
   * `NodeUnreachableError`, remote refs become unreachable. The actor system keeps running.
   * Idempotent.
   */
  leave(): Promise<void> {
    return this.#core.leave();
  }

  /**
   * @internal For the cluster's own services (cluster topics): a subject under this cluster's
   * prefix, published to and subscribed on this node's connection, and the message codec.
   */
  channel(suffix: string): ServiceChannel {
    return this.#core.channel(suffix);
  }

  /** @internal The NATS connection, for the cluster's JetStream services (durable topics). */
  get connection(): NatsConnection {
    return this.#core.connection;
  }

  /**
   * @internal The seam for cluster services (sharding): hears membership changes, closed when
   * the node leaves. Returns the function that detaches it. See service.ts.
   */
  attach(service: NodeService): () => void {
    return this.#core.attach(service);
  }

  /** @internal For sharding: a one-shot reply ref reachable from every node. */
  askReply<R extends Message>(
    target: string,
    timeoutMs: number,
  ): { ref: ActorRef<R>; promise: Promise<R>; fail(error: unknown): void } {
    return this.#core.askReply<R>(target, timeoutMs);
  }

  /** @internal For sharding: how entity refs that arrive inside messages are made. */
  entityRefs(resolver: (type: string, id: string) => ActorRef<Message>): void {
    this.#core.entityRefs(resolver);
  }

  /** @internal Counts and dead-letters garbage a cluster service received on its subject. */
  invalidInput(subject: string, data: Uint8Array, error: unknown): void {
    this.#core.invalidInput(subject, data, error);
  }
}
