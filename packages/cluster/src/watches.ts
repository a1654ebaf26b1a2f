import {
  type ActorStopped,
  type ExitReason,
  type ForeignWatcher,
  formatAddress,
  type Message,
} from '@troupe/runtime';
import { decodeReason, encodeReason } from './exit-reasons.js';
import { type OutEntry, TERMINATED, UNWATCH, WATCH } from './frame.js';
import type { RemoteRef } from './remote-ref.js';

/** What death watch across nodes needs from its node. @internal */
export interface WatchesHost {
  readonly cluster: string;
  /** Queues a control entry on the link to `node` if it is up (with `incarnation`, if given). */
  control(node: string, entry: OutEntry, incarnation?: string): boolean;
  /** Whether `path#id` is a live local actor. */
  isLocal(path: string, id: string): boolean;
  /** A remote actor is known to be gone: its refs fail at once from now on. */
  gone(address: string, reason: ExitReason): void;
  invalid(data: Uint8Array, error: unknown): void;
}

interface Watched {
  readonly ref: RemoteRef<Message>;
  readonly watchers: Set<ForeignWatcher>;
}

/**
 * Death watch across nodes, both ways.
 *
 * - **Remote actors watched from here** (`ctx.watch(remoteRef)`): one `watch` entry per remote
 *   actor however many local watchers; `Terminated` with the remote reason when it stops, with
 *   `shutdown` when it is found already gone, with `nodeDown` when its node goes.
 * - **Local actors watched by peers**: the peers to tell when it stops; a peer that goes is
 *   forgotten.
 *
 * @internal
 */
export class Watches {
  private readonly watching = new Map<string, Watched>();
  /** `path#id` of a local actor → the peers watching it. */
  private readonly watchedBy = new Map<string, Set<string>>();

  constructor(private readonly host: WatchesHost) {}

  watch(ref: RemoteRef<Message>, watcher: ForeignWatcher): void {
    let entry = this.watching.get(ref.address);
    if (entry === undefined) {
      if (!this.host.control(ref.node, [WATCH, ref.path, ref.id])) {
        watcher.terminated({ type: 'nodeDown', node: ref.node });
        return;
      }
      entry = { ref, watchers: new Set() };
      this.watching.set(ref.address, entry);
    }
    entry.watchers.add(watcher);
  }

  unwatch(ref: RemoteRef<Message>, watcher: ForeignWatcher): void {
    const entry = this.watching.get(ref.address);
    if (entry === undefined) return;
    entry.watchers.delete(watcher);
    if (entry.watchers.size > 0) return;
    this.watching.delete(ref.address);
    this.host.control(ref.node, [UNWATCH, ref.path, ref.id]);
  }

  /** A peer asks to watch a local actor; one already gone is `Terminated(shutdown)` at once. */
  peerWatches(peer: string, incarnation: string, path: string, id: string): void {
    if (!this.host.isLocal(path, id)) {
      this.host.control(peer, [TERMINATED, path, id, encodeReason({ type: 'shutdown' })], incarnation);
      return;
    }
    const key = `${path}#${id}`;
    let set = this.watchedBy.get(key);
    if (set === undefined) {
      set = new Set();
      this.watchedBy.set(key, set);
    }
    set.add(peer);
  }

  peerUnwatches(peer: string, path: string, id: string): void {
    this.watchedBy.get(`${path}#${id}`)?.delete(peer);
  }

  /** A remote actor watched from here stopped. */
  terminated(peer: string, path: string, id: string, encodedReason: Uint8Array): void {
    const address = formatAddress({ system: this.host.cluster, node: peer, path, id });
    let reason: ExitReason;
    try {
      reason = decodeReason(encodedReason);
    } catch (error) {
      this.host.invalid(encodedReason, error);
      return;
    }
    this.host.gone(address, reason);
    const watched = this.watching.get(address);
    if (watched === undefined) return;
    this.watching.delete(address);
    for (const watcher of watched.watchers) watcher.terminated(reason);
  }

  /** A local actor stopped: tell the peers that watch it. */
  localStopped(event: ActorStopped): void {
    const key = `${event.path}#${event.id}`;
    const nodes = this.watchedBy.get(key);
    if (nodes === undefined) return;
    this.watchedBy.delete(key);
    const reason = encodeReason(event.reason);
    for (const node of nodes) this.host.control(node, [TERMINATED, event.path, event.id, reason]);
  }

  /** A peer went (down or left): its actors' watchers get `Terminated(nodeDown)`; it watches nothing here. */
  peerGone(node: string): void {
    for (const [address, watched] of [...this.watching]) {
      if (watched.ref.node !== node) continue;
      this.watching.delete(address);
      for (const watcher of watched.watchers) watcher.terminated({ type: 'nodeDown', node });
    }
    for (const set of this.watchedBy.values()) set.delete(node);
  }
}
