import type { Message } from '../actor-ref.js';
import type { Terminated } from '../behavior.js';
import type { ExitReason } from '../exit-reason.js';
import { FOREIGN_REF, type ForeignRef, type ForeignWatcher } from '../foreign-ref.js';
import type { ActorCell } from './actor-cell.js';

/**
 * Death watch (Pekko's `dungeon/DeathWatch`): who watches an actor and whom it watches. Both
 * sides are kept so that a stopping watcher unregisters itself from its targets, and a watch
 * that is dropped before its `Terminated` was handled discards that signal.
 *
 * @internal Not exported from the package.
 */
export class DeathWatch {
  watchers: Set<ActorCell<Message>> | null = null;
  watching: Set<ActorCell<Message>> | null = null;
  /** Foreign refs (another node's actors) this actor watches, through their transport. */
  foreign: Map<ForeignRef<Message>, ForeignWatcher> | null = null;
}

/**
 * `watcher` watches a foreign ref: its transport calls back `terminated(reason)`, which puts a
 * `Terminated` in the watcher's system lane while the watch is still on.
 */
export function watchForeign(watcher: ActorCell<Message>, target: ForeignRef<Message>): void {
  const own = watcher.deathWatch;
  own.foreign ??= new Map();
  if (own.foreign.has(target)) return;
  let done = false;
  const handle: ForeignWatcher = {
    watcher: watcher.self,
    terminated(reason: ExitReason) {
      if (done) return;
      done = true;
      if (watcher.peekDeathWatch()?.foreign?.get(target) !== handle) return;
      watcher.enqueueSystem({ kind: 'terminated', signal: { type: 'Terminated', ref: target, reason } });
    },
  };
  own.foreign.set(target, handle);
  callHook(watcher, () => target[FOREIGN_REF].watch(handle));
}

export function unwatchForeign(watcher: ActorCell<Message>, target: ForeignRef<Message>): void {
  const foreign = watcher.peekDeathWatch()?.foreign;
  const handle = foreign?.get(target);
  if (foreign === undefined || foreign === null || handle === undefined) return;
  foreign.delete(target);
  callHook(watcher, () => target[FOREIGN_REF].unwatch(handle));
}

/** Whether `watcher` still watches the foreign `target` (and stops: one `Terminated` per watch). */
export function takeForeignWatch(watcher: ActorCell<Message>, target: unknown): boolean {
  const foreign = watcher.peekDeathWatch()?.foreign;
  if (foreign === undefined || foreign === null) return false;
  return foreign.delete(target as ForeignRef<Message>);
}

function callHook(cell: ActorCell<Message>, hook: () => void): void {
  try {
    hook();
  } catch (error) {
    cell.log.error({ err: error }, "a foreign ref's watch hook threw");
  }
}

/** `watcher` watches `target`: a `Terminated` arrives in its system lane when `target` stops (at once if it has). */
export function watch(watcher: ActorCell<Message>, target: ActorCell<Message>): void {
  const own = watcher.deathWatch;
  own.watching ??= new Set();
  own.watching.add(target);
  if (target.status === 'stopped') {
    watcher.enqueueSystem({ kind: 'terminated', signal: terminatedSignal(target) });
    return;
  }
  const theirs = target.deathWatch;
  theirs.watchers ??= new Set();
  theirs.watchers.add(watcher);
}

export function unwatch(watcher: ActorCell<Message>, target: ActorCell<Message>): void {
  watcher.peekDeathWatch()?.watching?.delete(target);
  target.peekDeathWatch()?.watchers?.delete(watcher);
}

/** Whether `watcher` still watches `target` (and stops doing so: a `Terminated` is handed over once). */
export function takeWatch(watcher: ActorCell<Message>, target: ActorCell<Message>): boolean {
  return watcher.peekDeathWatch()?.watching?.delete(target) === true;
}

/** `cell` stopped: tells its watchers, and stops watching others. */
export function notifyWatchers(cell: ActorCell<Message>): void {
  const state = cell.peekDeathWatch();
  if (state === null) return;
  if (state.watchers !== null) {
    const signal = terminatedSignal(cell);
    for (const watcher of state.watchers) watcher.enqueueSystem({ kind: 'terminated', signal });
  }
  state.watchers = null;
  if (state.watching !== null) {
    for (const target of state.watching) target.peekDeathWatch()?.watchers?.delete(cell);
  }
  state.watching = null;
  if (state.foreign !== null) {
    const foreign = state.foreign;
    state.foreign = null;
    for (const [target, handle] of foreign) callHook(cell, () => target[FOREIGN_REF].unwatch(handle));
  }
}

function terminatedSignal(cell: ActorCell<Message>): Terminated {
  return { type: 'Terminated', ref: cell.self, reason: cell.exitReason };
}
