import {
  type ActorRef,
  ActorStoppedError,
  type ActorSystem,
  type ExitReason,
  FOREIGN_REF,
  type ForeignRef,
  type ForeignWatcher,
  formatAddress,
  type Message,
  parseAddress,
  type TrySendResult,
} from '@troupe/runtime';
import type { RefCodec } from './codec.js';
import { RemoteRef, type RemoteTransport } from './remote-ref.js';
import type { Replies } from './replies.js';
import { entityOf } from './sharding/entity-ref.js';

/**
 * Refs on the wire, for one node: the address of any ref a message carries out, and a ref that
 * works here for any address that comes in. Remote refs are interned (the same object while in
 * use, so `===` and `Terminated.ref` comparisons hold); local lookups are cached by path until
 * the actor stops.
 *
 * - a remote ref → its own address;
 * - an actor of this system → `troupe://cluster@node/path#id`;
 * - any other ref (an ask's reply ref passed along) → a `/temp/ref-<n>` export (see `Replies`);
 * - an address of this node whose actor is gone → a {@link StoppedRef}.
 *
 * @internal
 */
export class RefTable implements RefCodec {
  private readonly interned = new Map<string, WeakRef<RemoteRef<Message>>>();
  private readonly finalizer = new FinalizationRegistry<string>((address) => {
    if (this.interned.get(address)?.deref() === undefined) this.interned.delete(address);
  });
  private readonly localCache = new Map<string, ActorRef<Message>>();
  /** Sharding on this node: the ref of an entity named on the wire (`troupe://c@$entity/type#id`). */
  entities: ((type: string, id: string) => ActorRef<Message>) | null = null;

  constructor(
    private readonly system: ActorSystem,
    private readonly cluster: string,
    private readonly node: string,
    private readonly replies: Replies,
    private readonly transport: () => RemoteTransport,
  ) {}

  encodeRef(value: object): string | undefined {
    if (value instanceof RemoteRef || value instanceof StoppedRef) return value.address;
    const entity = entityOf(value);
    if (entity !== undefined)
      return formatAddress({
        system: this.cluster,
        node: ENTITY_NODE,
        path: `/${entity.type}`,
        id: entity.id,
      });
    const ref = value as Partial<ActorRef<Message>>;
    if (typeof ref.tell !== 'function' || typeof ref.path !== 'string' || typeof ref.id !== 'string') {
      return undefined;
    }
    if (this.system.owns(value)) {
      return formatAddress({ system: this.cluster, node: this.node, path: ref.path, id: ref.id });
    }
    const path = this.replies.export(value as ActorRef<Message>);
    return formatAddress({ system: this.cluster, node: this.node, path, id: path.slice('/temp/'.length) });
  }

  decodeRef(address: string): ActorRef<Message> {
    const known = this.interned.get(address)?.deref();
    if (known !== undefined) return known;
    const parts = parseAddress(address);
    if (parts.system !== this.cluster)
      throw new TypeError(`address of another cluster: ${address.slice(0, 120)}`);
    if (parts.node === undefined || parts.id === undefined) {
      throw new TypeError(`address without a node or id: ${address.slice(0, 120)}`);
    }
    if (parts.node === ENTITY_NODE) {
      if (this.entities === null) throw new TypeError('an entity ref, but this node runs no sharding');
      return this.entities(parts.path.slice(1), parts.id);
    }
    if (parts.node === this.node) {
      const local = this.resolveLocal(parts.path, parts.id);
      return typeof local === 'string' ? new StoppedRef(this.system, address) : local;
    }
    const ref = new RemoteRef<Message>(this.transport(), address, parts.node, parts.path, parts.id);
    this.interned.set(address, new WeakRef(ref));
    this.finalizer.register(ref, address);
    return ref;
  }

  /** The local target of `path#id`, or why there is none. */
  resolveLocal(path: string, id: string): ActorRef<Message> | 'lateReply' | 'stopped' {
    if (path.startsWith('/temp/')) return this.replies.resolve(path);
    let ref = this.localCache.get(path);
    if (ref === undefined) {
      ref = this.system.lookup(path);
      if (ref === undefined) return 'stopped';
      this.localCache.set(path, ref);
    }
    return ref.id === id ? ref : 'stopped';
  }

  /** The actor at `address` (on another node) is known to be gone: its interned ref fails at once from now on. */
  markGone(address: string, reason: ExitReason): void {
    const ref = this.interned.get(address)?.deref();
    if (ref !== undefined && ref.gone === null) ref.gone = reason;
  }

  /** A local actor stopped: forget its cached lookup. */
  stopped(path: string, id: string): void {
    const cached = this.localCache.get(path);
    if (cached !== undefined && cached.id === id) this.localCache.delete(path);
  }
}

/** The node part of an entity's address: not a node name (those have no `$`). */
const ENTITY_NODE = '$entity';

/**
 * A ref to an actor of this node that no longer exists (decoded from an address): `tell` is a
 * `stopped` dead letter, `send`/`ask` reject with `ActorStoppedError`, a watch ends at once.
 *
 * @internal
 */
export class StoppedRef implements ForeignRef<Message> {
  readonly path: string;
  readonly id: string;
  readonly name: string;
  readonly [FOREIGN_REF] = {
    watch: (watcher: ForeignWatcher) => watcher.terminated({ type: 'shutdown' }),
    unwatch: () => {},
  };

  constructor(
    private readonly system: ActorSystem,
    readonly address: string,
  ) {
    const parts = parseAddress(address);
    this.path = parts.path;
    this.id = parts.id ?? '';
    this.name = parts.path.slice(parts.path.lastIndexOf('/') + 1);
  }

  tell(message: Message): void {
    this.system.deadLetter('stopped', message, this.address);
  }

  trySend<T extends Message>(message: T): TrySendResult<T> {
    return { ok: false, reason: 'closed', value: message } as TrySendResult<T>;
  }

  send(): Promise<void> {
    return Promise.reject(new ActorStoppedError(this.path));
  }

  ask<R extends Message>(): Promise<R> {
    return Promise.reject(new ActorStoppedError(this.path));
  }

  toString(): string {
    return this.address;
  }

  toJSON(): { $ref: string } {
    return { $ref: this.address };
  }
}
