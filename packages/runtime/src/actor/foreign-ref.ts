import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { ExitReason } from './exit-reason.js';

/**
 * The extension point for refs whose actor is not in this process (the cluster's remote refs).
 * The runtime never knows how such a ref delivers; it only needs a way to death-watch it.
 *
 * A foreign ref implements the whole {@link ActorRef} contract itself (`tell` never throws and
 * dead-letters what it cannot deliver, `send`/`ask` reject with typed errors) and carries, under
 * {@link FOREIGN_REF}, the hooks `ctx.watch` / `ctx.unwatch` call for it.
 */
export interface ForeignRef<M extends Message> extends ActorRef<M> {
  readonly [FOREIGN_REF]: ForeignWatchHooks;
}

/** What `ctx.watch(foreignRef)` calls: the owner of the ref (a transport) does the watching. */
export interface ForeignWatchHooks {
  /**
   * Starts watching for `watcher`. The transport must call `watcher.terminated(reason)` when the
   * target stops (its reason), when it turns out to be dead or unknown already, and when its
   * node is declared down (`{ type: 'nodeDown' }`). Calling it more than once, or after
   * `unwatch`, is harmless (the runtime hands over one `Terminated` per watch). Must not throw.
   */
  watch(watcher: ForeignWatcher): void;
  /** Stops watching for `watcher` (the watcher unwatched, or stopped). Must not throw. */
  unwatch(watcher: ForeignWatcher): void;
}

/** A local actor watching a foreign ref, as the runtime hands it to the transport. */
export interface ForeignWatcher {
  /** The watching actor. */
  readonly watcher: ActorAddress;
  /** Delivers `Terminated { ref, reason }` to the watcher (once; later calls are ignored). */
  terminated(reason: ExitReason): void;
}

/** The key of a foreign ref's watch hooks. */
export const FOREIGN_REF: unique symbol = Symbol.for('troupe.foreignRef');

/** Whether `value` is a ref that implements the {@link ForeignRef} extension point. */
export function isForeignRef(value: unknown): value is ForeignRef<Message> {
  if (value === null || typeof value !== 'object') return false;
  const hooks = (value as { [FOREIGN_REF]?: unknown })[FOREIGN_REF];
  return (
    hooks !== null &&
    typeof hooks === 'object' &&
    typeof (hooks as ForeignWatchHooks).watch === 'function' &&
    typeof (hooks as ForeignWatchHooks).unwatch === 'function'
  );
}
