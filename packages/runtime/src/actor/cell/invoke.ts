/**
 * The invoke loop of a cell (Pekko's `dungeon/Dispatch` and `ActorCell.invoke`): a turn takes
 * the system lane first, then up to `throughput` user messages, each handed to the behaviour.
 *
 * - **One at a time.** A handler that returns a promise holds the next message (`busy`) until it
 *   settles; so do pending `ctx.send`s and a `ctx.pause`. Every continuation checks that its
 *   incarnation is still current and drops its outcome otherwise.
 * - **Accounting.** Each message ends exactly once: `processed`, `unhandled` (a dead letter),
 *   `failed` (the actor's failure, see faults.ts), or `cancelled` (a timer replaced or cancelled
 *   since it fired).
 * - **Tracing without a branch.** {@link invoke} is the untraced path: nothing on it checks for
 *   tracing. {@link invokeTraced} wraps the same steps in a span; a traced system's cells are a
 *   subclass whose `invoke` is that one, chosen when the cell is made.
 *
 * @internal Not exported from the package.
 */
import type { Context } from '@opentelemetry/api';
import type { Message } from '../actor-ref.js';
import { type BehaviorInstance, UNHANDLED } from '../behavior.js';
import { LocalRef } from '../local-ref.js';
import { TimerMessage } from '../timers.js';
import { TracedMessage, type Tracing } from '../tracing.js';
import type { ActorCell, Entry } from './actor-cell.js';
import { takeForeignWatch, takeWatch } from './death-watch.js';
import { exitNow, fail, superviseChild } from './faults.js';

type Outcome = undefined | typeof UNHANDLED | Promise<unknown>;

/** A handler that threw: the cell has already failed. */
const THREW = Symbol('threw');

/** One turn: the system lane, then at most `throughput` messages. Returns how many it took. */
export function run<M extends Message>(cell: ActorCell<M>): number {
  if (cell.busy || !cell.active) return 0;
  const limit = cell.throughput;
  const mailbox = cell.mailbox;
  const queue = mailbox.queue;
  let n = 0;
  for (;;) {
    if (mailbox.hasSystem) {
      runSystemLane(cell);
      if (cell.busy || !cell.active) return n;
    }
    if (n >= limit || queue.length === 0) break;
    n++;
    cell.invoke(mailbox.take());
    if (cell.busy || !cell.active) return n;
  }
  if (cell.status === 'stopping' && queue.length === 0) {
    cell.rare?.drained?.();
    return n;
  }
  if (queue.length > 0 && !cell.scheduled) cell.host.dispatcher.schedule(cell);
  return n;
}

/** Hands one mailbox entry to the behaviour (tracing off: nothing is wrapped). */
export function invoke<M extends Message>(cell: ActorCell<M>, entry: Entry<M>): void {
  const message = entry instanceof TimerMessage ? acceptTimer(cell, entry) : (entry as M);
  if (message === undefined) return;
  const result = callHandler(cell, message);
  if (result !== THREW) afterHandle(cell, result, message);
}

/** {@link invoke} with tracing on: the handling is a span, current while the handler runs. */
export function invokeTraced<M extends Message>(cell: ActorCell<M>, entry: Entry<M>): void {
  const tracing = cell.host.tracing as Tracing;
  let message: M | undefined;
  let parent: Context | undefined;
  if (entry instanceof TimerMessage) {
    message = acceptTimer(cell, entry);
    parent = entry.context;
  } else if (entry instanceof TracedMessage) {
    message = entry.message;
    parent = entry.context;
  } else message = entry;
  if (message === undefined) return;
  const handled = message;
  const rare = cell.extras;
  const handling = tracing.start(cell.path, handled, parent);
  rare.handling = handling;
  const result = tracing.run(handling, () => callHandler(cell, handled));
  if (result === THREW) {
    // fail() ended the span, unless the actor had stopped meanwhile (then it is abandoned here).
    if (rare.handling === handling) {
      rare.handling = null;
      handling.abandon('stopped');
    }
    return;
  }
  if (!(result instanceof Promise)) {
    rare.handling = null;
    handling.end(result === UNHANDLED || cell.markedUnhandled);
  }
  afterHandle(cell, result, handled);
}

/** A fired timer's message if the timer is still current, else undefined (counted `cancelled`). */
function acceptTimer<M extends Message>(cell: ActorCell<M>, entry: TimerMessage<M>): M | undefined {
  const timers = cell.rare?.timers;
  if (timers === undefined || timers === null || !timers.accept(entry)) {
    cell.extras.cancelled++;
    return undefined;
  }
  return entry.message;
}

/** Calls the behaviour's handler; a throw fails the cell and returns {@link THREW}. */
function callHandler<M extends Message>(cell: ActorCell<M>, message: M): Outcome | typeof THREW {
  cell.markedUnhandled = false;
  try {
    return (cell.instance as BehaviorInstance<M>).handle(message);
  } catch (error) {
    cell.markedUnhandled = false;
    fail(cell, error, message);
    return THREW;
  }
}

/** What follows a handler: count it, or hold the next message until its promise settles. */
function afterHandle<M extends Message>(cell: ActorCell<M>, outcome: Outcome, message: unknown): void {
  let result = outcome;
  if (!(result instanceof Promise)) {
    // Synchronous completion: a ctx.unhandled() during the handler applies now (for an async
    // handler the flag is read when its promise settles).
    if (cell.markedUnhandled && result === undefined) result = UNHANDLED;
    cell.markedUnhandled = false;
  }
  if (result === undefined) {
    cell.processed++;
    continueAfter(cell);
  } else if (result === UNHANDLED) {
    cell.unhandledCount++;
    cell.deadLetter('unhandled', message);
  } else {
    cell.busy = true;
    cell.inFlight = message;
    const incarnation = cell.instance;
    result.then(
      () => {
        if (cell.instance !== incarnation || cell.inFlight !== message) return;
        cell.inFlight = null;
        const rare = cell.rare;
        if (rare !== null && rare.handling !== null) {
          rare.handling.end(cell.markedUnhandled);
          rare.handling = null;
        }
        if (cell.markedUnhandled) {
          cell.markedUnhandled = false;
          cell.unhandledCount++;
          cell.deadLetter('unhandled', message);
          resume(cell);
          return;
        }
        cell.processed++;
        guarded(cell, () => continueAfter(cell, true));
      },
      (error: unknown) => {
        if (cell.instance !== incarnation || cell.inFlight !== message) return;
        cell.inFlight = null;
        cell.busy = false;
        cell.markedUnhandled = false;
        fail(cell, error, message);
      },
    );
  }
}

/** After a processed message: wait for pending ctx.sends, then a requested pause, then go on. */
function continueAfter<M extends Message>(cell: ActorCell<M>, resuming = false): void {
  if (cell.pendingSends !== null) awaitPendingSends(cell);
  else if (cell.rare !== null && cell.rare.pauseMs > 0) startPause(cell);
  else if (resuming) resume(cell);
}

/** Runs `work` outside the dispatcher (a promise continuation): whatever it throws fails this actor. */
export function guarded<M extends Message>(cell: ActorCell<M>, work: () => void): void {
  try {
    work();
  } catch (error) {
    cell.busy = false;
    cell.crashed(error);
  }
}

function awaitPendingSends<M extends Message>(cell: ActorCell<M>): void {
  const pending = cell.pendingSends as Promise<void>[];
  cell.pendingSends = null;
  cell.busy = true;
  const incarnation = cell.instance;
  Promise.all(pending).then(() => {
    if (cell.instance !== incarnation) return;
    guarded(cell, () => {
      if (cell.rare !== null && cell.rare.pauseMs > 0) startPause(cell);
      else resume(cell);
    });
  });
}

/** `ctx.pause`: busy until the clock says so. */
function startPause<M extends Message>(cell: ActorCell<M>): void {
  const rare = cell.extras;
  const ms = rare.pauseMs;
  rare.pauseMs = 0;
  const incarnation = cell.instance;
  rare.pauseTimer = cell.host.clock.setTimeout(() => {
    rare.pauseTimer = undefined;
    if (cell.instance === incarnation) resume(cell);
  }, ms);
  cell.busy = true;
}

/** No longer busy: take the next message when there is one. */
export function resume<M extends Message>(cell: ActorCell<M>): void {
  cell.busy = false;
  cell.kick();
}

/** Stop requests, children's exits and `Terminated` signals, before any user message. */
function runSystemLane<M extends Message>(cell: ActorCell<M>): void {
  const mailbox = cell.mailbox;
  while (mailbox.hasSystem && !cell.busy && cell.active) {
    const message = mailbox.shiftSystem();
    if (message.kind === 'exit') {
      if (message.incarnation !== cell.restarts) continue; // that incarnation already ended
      exitNow(cell, message.reason);
      return;
    }
    if (message.kind === 'childExited') {
      superviseChild(cell, message.child, message.reason);
      continue;
    }
    const watched = LocalRef.cellOf(message.signal.ref);
    const self = cell as unknown as ActorCell<Message>;
    const still =
      watched === undefined ? takeForeignWatch(self, message.signal.ref) : takeWatch(self, watched);
    if (!still) continue; // unwatched meanwhile
    cell.received++; // handed to the behaviour like a message: counted like one
    cell.markedUnhandled = false;
    let result: Outcome;
    try {
      result = (cell.instance as BehaviorInstance<M>).terminated(message.signal);
    } catch (error) {
      cell.markedUnhandled = false;
      fail(cell, error, message.signal);
      return;
    }
    afterHandle(cell, result, message.signal);
  }
}
