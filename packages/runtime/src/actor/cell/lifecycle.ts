/**
 * The lifecycle of a cell: starting an incarnation, ending one, and stopping the actor — the
 * graceful stop of OTP's shutdown (drain, then children, then stop) and the hard one.
 *
 * - **Start.** A throw anywhere in a start (the factory, `behavior.start`, `afterStart`) or a
 *   rejected async start (recovery) is a failed start: `ActorFailed` (phase `start`), then an
 *   exit its supervisor answers like any other (it counts toward intensity). While an async start
 *   runs the cell is busy: mail waits in the bounded mailbox.
 * - **End of an incarnation.** Children stop (reverse start order), timers and a pause are
 *   cancelled, the stop hook runs (a throw is logged). A message whose async handler is still
 *   running is abandoned: a dead letter, so nothing received disappears uncounted.
 * - **Graceful stop.** The mailbox refuses new mail; what is queued is handled while the
 *   children still run; then the children stop gracefully in reverse start order; then the
 *   actor stops. After `timeoutMs` it stops hard whatever remains (queued mail: dead letters).
 * - **Stopped.** Watchers get `Terminated`, the parent forgets the child, waiters resolve.
 *
 * @internal Not exported from the package.
 */
import type { Message } from '../actor-ref.js';
import { isBehavior } from '../behavior.js';
import type { DeadLetterReason } from '../events.js';
import { type ExitReason, SHUTDOWN } from '../exit-reason.js';
import { TimerMessage } from '../timers.js';
import { untraced } from '../tracing.js';
import type { ActorCell } from './actor-cell.js';
import { notifyWatchers } from './death-watch.js';
import { abandonHandling, exitNow } from './faults.js';
import { guarded, resume } from './invoke.js';

/** Starts a new incarnation; returns whether it runs (a throw is a failed start, reported). */
export function startIncarnation<M extends Message>(cell: ActorCell<M>): boolean {
  try {
    const source = cell.source;
    const behavior = typeof source === 'function' ? source() : source;
    if (!isBehavior(behavior)) {
      throw new TypeError(
        `${cell.path}: the child's start() must return a behavior (receive() or fromMachine())`,
      );
    }
    const instance = behavior.start(cell, cell);
    cell.instance = instance;
    instance.afterStart?.();
    if (instance.ready !== undefined) awaitReady(cell, instance, instance.ready);
  } catch (error) {
    if (cell.active) {
      cell.host.publishFailed(cell, error, 'start');
      exitNow(cell, { type: 'error', error });
    } else cell.log.error({ err: error }, 'start failed while stopping');
    return false;
  }
  return cell.status === 'running';
}

/** An async start (recovery): busy until it resolves; a rejection is a failed start. */
function awaitReady<M extends Message>(
  cell: ActorCell<M>,
  instance: NonNullable<ActorCell<M>['instance']>,
  ready: Promise<unknown>,
): void {
  cell.busy = true;
  ready.then(
    () => {
      if (cell.instance === instance) guarded(cell, () => resume(cell));
    },
    (error: unknown) => {
      if (cell.instance !== instance || !cell.active) return;
      cell.busy = false;
      cell.host.publishFailed(cell, error, 'start');
      exitNow(cell, { type: 'error', error });
    },
  );
}

/**
 * Children (reverse start order), timers, pending sends and the incarnation's stop hook. A
 * message whose async handler is still running is abandoned (its outcome is ignored), so it
 * becomes a dead letter: nothing that was received disappears uncounted. Only a settlement
 * the runtime has seen counts as processed, even if the handler's own code had just ended.
 */
export function stopIncarnation<M extends Message>(
  cell: ActorCell<M>,
  reason: ExitReason,
  restarting: boolean,
): void {
  const interrupted = cell.inFlight;
  cell.inFlight = null;
  cell.markedUnhandled = false;
  if (interrupted !== null) cell.abandon(cell.host.shuttingDown ? 'shutdown' : 'stopped', interrupted);
  abandonHandling(cell, restarting ? 'restarting' : 'stopped');
  const children = cell.children;
  for (let i = children.length - 1; i >= 0; i--) terminate(children[i] as ActorCell<Message>, SHUTDOWN);
  const rare = cell.rare;
  if (rare !== null) {
    rare.timers?.cancelAll();
    rare.pauseMs = 0;
    if (rare.pauseTimer !== undefined) cell.host.clock.clearTimeout(rare.pauseTimer);
    rare.pauseTimer = undefined;
  }
  cell.pendingSends = null;
  cell.busy = false;
  const instance = cell.instance;
  cell.instance = null;
  if (instance === null) return;
  try {
    instance.stop(reason, restarting);
  } catch (error) {
    cell.log.error({ err: error }, restarting ? 'restart hook threw' : 'stop hook threw');
  }
  cell.host.publishExited(cell, reason);
}

/**
 * A stop request from outside (`system.stop`): under a supervisor it is an exit the
 * supervisor answers (after the current message, forced after `timeoutMs` if a handler never
 * ends); otherwise a graceful stop (drain within `timeoutMs`, then hard). Resolves once the
 * incarnation has ended.
 */
export function requestStop<M extends Message>(
  cell: ActorCell<M>,
  reason: ExitReason,
  timeoutMs: number,
): Promise<void> {
  if (cell.status === 'stopped') return Promise.resolve();
  const parent = cell.parentCell;
  if (parent === null || !parent.supervises || cell.status !== 'running') {
    return stopGracefully(cell, reason, timeoutMs);
  }
  const rare = cell.extras;
  const ended = new Promise<void>((resolve) => {
    rare.exitWaiters ??= [];
    rare.exitWaiters.push(resolve);
  });
  cell.enqueueSystem({ kind: 'exit', reason, incarnation: cell.restarts });
  if (rare.exitTimer === undefined) {
    const incarnation = cell.restarts;
    rare.exitTimer = cell.host.clock.setTimeout(() => {
      rare.exitTimer = undefined;
      // Still the same incarnation, stuck in a handler: abandon its message and exit now.
      if (cell.restarts === incarnation && cell.status === 'running') exitNow(cell, reason);
    }, timeoutMs);
  }
  return ended;
}

/** The incarnation ended (exit, failure or stop): release `requestStop` callers and its timer. */
export function settleExit<M extends Message>(cell: ActorCell<M>): void {
  const rare = cell.rare;
  if (rare === null) return;
  if (rare.exitTimer !== undefined) cell.host.clock.clearTimeout(rare.exitTimer);
  rare.exitTimer = undefined;
  const waiters = rare.exitWaiters;
  rare.exitWaiters = null;
  if (waiters !== null) for (const resolve of waiters) resolve();
}

/**
 * Graceful stop (OTP shutdown): refuse new messages, handle what is queued (the children
 * still run, so what it forwards to them reaches them), then stop the children gracefully in
 * reverse start order, then stop; or stop hard after `timeoutMs` (what is still queued
 * becomes dead letters). Resolves once stopped, however that happens.
 */
export function stopGracefully<M extends Message>(
  cell: ActorCell<M>,
  reason: ExitReason,
  timeoutMs: number,
): Promise<void> {
  if (cell.status === 'stopped') return Promise.resolve();
  const rare = cell.extras;
  const stopped = new Promise<void>((resolve) => {
    rare.stopWaiters ??= [];
    rare.stopWaiters.push(resolve);
  });
  if (cell.status === 'stopping') return stopped; // already draining or stopping
  if (cell.status === 'suspended') {
    terminate(cell, reason);
    return stopped;
  }
  cell.status = 'stopping';
  cell.mailbox.close(); // refuse new messages; queued ones stay receivable
  try {
    rare.drainTimer = cell.host.clock.setTimeout(() => terminate(cell, reason), timeoutMs);
  } catch (error) {
    cell.log.error({ err: error }, 'clock.setTimeout threw: stopping without draining');
    terminate(cell, reason);
    return stopped;
  }
  // Drain first, while the children still run: what this actor forwards to them while
  // draining (a router, a pipeline stage) reaches them, and they drain it in turn.
  rare.drained = () => {
    rare.drained = null;
    void stopChildrenThenTerminate(cell, reason);
  };
  if (!cell.busy && cell.mailbox.queue.length === 0 && !cell.mailbox.hasSystem) rare.drained();
  else cell.kick();
  return stopped;
}

/** The second half of a graceful stop: each child drains and stops (reverse start order). */
async function stopChildrenThenTerminate<M extends Message>(
  cell: ActorCell<M>,
  reason: ExitReason,
): Promise<void> {
  const children = cell.children;
  for (let i = children.length - 1; i >= 0; i--) {
    const child = children[i] as ActorCell<Message>;
    await stopGracefully(child, SHUTDOWN, child.shutdownMs);
  }
  if (!cell.extras.terminating && cell.status === 'stopping') terminate(cell, reason);
}

/**
 * Stops now: children first (reverse start order), timers, the mailbox (waiting senders are
 * rejected, queued messages become dead letters), the incarnation's stop hook; then watchers
 * get `Terminated` and the parent forgets this child.
 */
export function terminate<M extends Message>(cell: ActorCell<M>, reason: ExitReason): void {
  const rare = cell.extras;
  if (cell.status === 'stopped' || rare.terminating) return;
  rare.terminating = true;
  cell.status = 'stopping';
  rare.drained = null;
  stopIncarnation(cell, reason, false);
  cell.mailbox.close();
  const leftover: DeadLetterReason = cell.host.shuttingDown ? 'shutdown' : 'stopped';
  while (cell.mailbox.queue.length > 0) {
    const entry = cell.mailbox.take();
    if (entry instanceof TimerMessage)
      rare.cancelled++; // cancelled with the timers
    else cell.abandon(leftover, untraced(entry));
  }
  cell.mailbox.clearSystem();
  cell.status = 'stopped';
  rare.exitReason = reason;
  cell.busy = false;
  cell.parentCell?.forgetChild(cell as unknown as ActorCell<Message>);
  notifyWatchers(cell as unknown as ActorCell<Message>);
  cell.host.publishStopped(cell, reason);
  if (rare.drainTimer !== undefined) cell.host.clock.clearTimeout(rare.drainTimer);
  rare.drainTimer = undefined;
  settleExit(cell);
  const waiters = rare.stopWaiters;
  rare.stopWaiters = null;
  if (waiters !== null) for (const resolve of waiters) resolve();
}
