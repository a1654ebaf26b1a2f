/**
 * Failure handling and the restart protocol of a cell (Pekko's `dungeon/FaultHandling`).
 *
 * - **A failure** is a handler that threw or rejected, a machine that errored, or something that
 *   escaped the run loop. The failing message is a `failed` dead letter with the error; the
 *   incarnation exits with `{ type: 'error' }`.
 * - **An exit under a supervisor** suspends the actor: the mailbox is kept, nothing is
 *   processed, and the parent is told (`childExited` in its system lane); the parent's
 *   supervisor answers with `restart` or a stop. Without a supervisor the actor stops.
 * - **A restart** keeps the ref and the mailbox (queued messages are processed next) and starts a
 *   fresh incarnation; a failed start is a failure, not a restart.
 *
 * @internal Not exported from the package.
 */
import type { Message } from '../actor-ref.js';
import type { BehaviorInstance, BehaviorSource } from '../behavior.js';
import type { ExitReason } from '../exit-reason.js';
import type { ActorCell } from './actor-cell.js';
import { settleExit, startIncarnation, stopIncarnation, terminate } from './lifecycle.js';

/**
 * A handler threw or rejected, or the machine errored. The message becomes a dead letter
 * (`failed`) carrying the error; then the incarnation exits with the error, which the
 * parent's supervisor answers (or the actor stops, without one).
 */
export function fail<M extends Message>(cell: ActorCell<M>, error: unknown, message: unknown): void {
  if (!cell.active) return;
  const rare = cell.rare;
  if (rare !== null && rare.handling !== null) {
    rare.failedSpan = rare.handling.fail(error);
    rare.handling = null;
  }
  if (message !== undefined) {
    cell.failed++; // counts failed messages; a failure outside one is an ActorFailed event only
    cell.deadLetter('failed', message, error);
  }
  cell.host.publishFailed(cell, error, 'running');
  exitNow(cell, { type: 'error', error });
}

/**
 * This incarnation is over (it failed, or exited). Under a supervisor the actor is
 * suspended — mailbox kept, nothing processed — until the supervisor restarts or stops it;
 * otherwise it stops. While draining for a graceful stop, it just stops.
 */
export function exitNow<M extends Message>(cell: ActorCell<M>, reason: ExitReason): void {
  const parent = cell.parentCell;
  if (cell.status !== 'running' || parent === null || !parent.supervises) {
    terminate(cell, reason);
    return;
  }
  const interrupted = cell.inFlight;
  cell.inFlight = null;
  if (interrupted !== null) cell.abandon('stopped', interrupted);
  abandonHandling(cell, 'stopped');
  cell.status = 'suspended';
  cell.busy = false;
  cell.extras.exitReason = reason;
  settleExit(cell);
  parent.enqueueSystem({ kind: 'childExited', child: cell as unknown as ActorCell<Message>, reason });
}

/** A child's exit reached this cell's system lane: its supervisor decides, or it stops. */
export function superviseChild<M extends Message>(
  cell: ActorCell<M>,
  child: ActorCell<Message>,
  reason: ExitReason,
): void {
  if (child.status !== 'suspended') return; // stopped meanwhile
  const instance = cell.instance as BehaviorInstance<M>;
  if (instance.supervise === undefined) terminate(child, reason);
  else instance.supervise(child, reason);
}

/**
 * Restart in place: the same ref and mailbox (queued messages are kept and processed next),
 * a fresh incarnation from `source` (a behaviour, or a factory called now). The old
 * incarnation's children are stopped, its timers cancelled and its stop hook told it is
 * restarting. A failed start is a failure (`ActorFailed`, phase `start`), not a restart.
 */
export function restart<M extends Message>(
  cell: ActorCell<M>,
  reason: ExitReason,
  source?: BehaviorSource<Message>,
): void {
  if (cell.status === 'stopped' || cell.status === 'stopping') return;
  stopIncarnation(cell, reason, true);
  if (source !== undefined) cell.source = source as BehaviorSource<M>;
  cell.restarts++;
  cell.status = 'running';
  const failed = cell.rare?.failedSpan;
  if (failed != null) {
    (cell.rare as NonNullable<typeof cell.rare>).failedSpan = null;
    cell.host.tracing?.restarted(cell.path, describeReason(reason), failed);
  }
  if (!startIncarnation(cell)) return;
  cell.host.publishStarted(cell);
  cell.host.publishRestarted(cell, reason);
  cell.kick();
}

/** Ends the incarnation but keeps ref and mailbox, until `restart` (a sibling is restarting). */
export function suspend<M extends Message>(cell: ActorCell<M>, reason: ExitReason): void {
  if (cell.status === 'stopped' || cell.status === 'stopping') return;
  stopIncarnation(cell, reason, true);
  cell.status = 'suspended';
}

/** Tracing on: a handler still running when its incarnation ends; its span ends here. */
export function abandonHandling<M extends Message>(cell: ActorCell<M>, reason: string): void {
  const rare = cell.rare;
  if (rare === null || rare.handling === null) return;
  rare.handling.abandon(reason);
  rare.handling = null;
}

/** An exit reason in a span attribute: its type, and the error's message for a failure. */
function describeReason(reason: ExitReason): string {
  if (reason.type !== 'error') return reason.type;
  const error = reason.error;
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}
