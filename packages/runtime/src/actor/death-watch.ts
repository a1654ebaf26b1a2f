import type { ActorCell } from './actor-cell.js';
import type { Message } from './actor-ref.js';
import type { Terminated } from './behavior.js';

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
}

function terminatedSignal(cell: ActorCell<Message>): Terminated {
  return { type: 'Terminated', ref: cell.self, reason: cell.exitReason };
}
