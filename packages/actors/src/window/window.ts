import { type ActorContext, type ActorRef, type Behavior, type Message, receive } from '@troupe/runtime';
import { checkDuration, checkFunction, checkInteger, checkObject, checkRef } from '../check-options.js';

/**
 * The aggregate of one key's values over one window (the seed's `AggregatedReading`). Emitted
 * only for windows that saw at least one value of the key.
 */
export interface WindowAggregate {
  readonly type: 'WindowAggregate';
  readonly key: string;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** `sum / count`. */
  readonly avg: number;
  /**
   * Time windows: the window's start (inclusive), a multiple of `sizeMs` on the system clock.
   * Count windows: the clock time the window's first event was handled.
   */
  readonly start: number;
  /**
   * Time windows: the window's end (exclusive), `start + sizeMs`. Count windows: the clock time
   * its last event was handled.
   */
  readonly end: number;
}

/** The window-closing timer's message (sent by a time window to itself through its timers). */
export interface WindowClose {
  readonly type: '$window.close';
}

/**
 * What a window actor accepts: the events themselves (so it can subscribe to a topic or sit in a
 * pipeline), and its own `$window.close` timer message — a type events must not use.
 */
export type WindowMsg<E extends Message> = E | WindowClose;

interface WindowOptionsBase<E extends Message> {
  /** The key an event is aggregated under (e.g. a sensor id). */
  readonly key: (event: E) => string;
  /** The value aggregated (e.g. a temperature). Non-finite values are skipped (see below). */
  readonly value: (event: E) => number;
  /** Receives each `WindowAggregate`. */
  readonly target: ActorRef<WindowAggregate>;
}

/** Options of {@link timeWindow}. */
export interface TimeWindowOptions<E extends Message> extends WindowOptionsBase<E> {
  /** Window length in ms on the system clock, > 0. */
  readonly sizeMs: number;
}

/** Options of {@link countWindow}. */
export interface CountWindowOptions<E extends Message> extends WindowOptionsBase<E> {
  /** Events per window, per key. Integer ≥ 1. */
  readonly size: number;
}

/** A running aggregate. */
interface Acc {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
}

interface TimeState {
  start: number;
  end: number;
  readonly accs: Map<string, Acc>;
  skipped: number;
}

interface CountState {
  readonly accs: Map<string, Acc>;
  skipped: number;
}

const CLOSE_TIMER = 'close';
const CLOSE: WindowClose = { type: '$window.close' };

/**
 * Tumbling time windows per key: every `sizeMs`, one `WindowAggregate` per key that had events
 * in the window is sent to `target` (the seed's windowed sensor aggregation, per sensor).
 *
 * **Windows.** Aligned to the system clock (`ctx.clock`, a `VirtualClock` in tests):
 * `[k·sizeMs, (k+1)·sizeMs)`, the first one being the window the actor starts in. They never
 * overlap. A timer closes each window; all keys share its boundaries.
 * **Which window an event is in.** Processing time, decided by mailbox order: an event queued
 * before the closing timer fired belongs to the closing window, even if handled later. If the
 * actor is so late that whole windows passed while it was busy, it resumes with the window that
 * contains the current time (the skipped windows are empty by construction: emitted nothing).
 * **Emitting.** Aggregates go to `target` in the order keys were first seen in the window, with
 * backpressure (`ctx.send`): while the target's mailbox is full the window takes no new event.
 * A stopped target makes them dead letters (`stopped`). Windows with no events emit nothing.
 * **Bad values.** An event whose `value` is not a finite number is skipped, logged (warn) and
 * counted (`skipped`, in `system.tree()` details); a throw from `key` or `value` fails the actor.
 * **Stopping and restarts.** Only complete windows are emitted: the open window is discarded
 * when the actor stops or restarts; a restart begins with the window containing the clock's time.
 * **Errors.** Throws `TypeError`/`RangeError` naming the field on bad options.
 *
 * @example
 * const avg = system.spawn(timeWindow<Reading>({
 *   sizeMs: 60_000, key: (r) => r.sensorId, value: (r) => r.temperature, target: dashboard,
 * }));
 */
export function timeWindow<E extends Message>(options: TimeWindowOptions<E>): Behavior<WindowMsg<E>> {
  const owner = 'timeWindow';
  const { key, value, target } = checkBase(owner, options);
  const sizeMs = checkDuration(owner, 'sizeMs', options.sizeMs);

  /** Starts the window that contains the clock's time, unless it would begin before `notBefore`. */
  const open = (state: TimeState, ctx: ActorContext<WindowMsg<E>>, notBefore: number): TimeState => {
    const now = ctx.clock.now();
    state.start = Math.max(notBefore, Math.floor(now / sizeMs) * sizeMs);
    state.end = state.start + sizeMs;
    ctx.timers.startSingle(CLOSE_TIMER, CLOSE, state.end - now);
    return state;
  };

  return receive<TimeState, WindowMsg<E>>(
    { start: 0, end: 0, accs: new Map(), skipped: 0 },
    (state, message, ctx) => {
      if (isClose(message)) {
        for (const [k, acc] of state.accs) ctx.send(target, aggregate(k, acc, state.start, state.end));
        state.accs.clear();
        return open(state, ctx, state.end);
      }
      const v = finiteValue(state, ctx, message, value);
      if (v !== undefined) add(state.accs, key(message), v, ctx.clock.now());
      return state;
    },
    {
      onStart: (ctx) =>
        open({ start: 0, end: 0, accs: new Map(), skipped: 0 }, ctx, Number.NEGATIVE_INFINITY),
      describe: (state) => ({
        sizeMs,
        start: state.start,
        end: state.end,
        keys: state.accs.size,
        skipped: state.skipped,
      }),
    },
  );
}

/**
 * Count windows per key: every `size` events of a key, one `WindowAggregate` of those events is
 * sent to `target`. Keys count independently.
 *
 * **Times.** `start`/`end` are the clock times (`ctx.clock.now()`) at which the window's first
 * and last events were handled.
 * **Emitting.** As soon as a key's window is full, with backpressure (`ctx.send`): while the
 * target's mailbox is full the window takes no new event. A stopped target makes it a dead
 * letter (`stopped`).
 * **Bad values.** As {@link timeWindow}: non-finite values are skipped, logged and counted.
 * **Stopping and restarts.** Only full windows are emitted: partly filled ones are discarded.
 * **Errors.** Throws `TypeError`/`RangeError` naming the field on bad options.
 */
export function countWindow<E extends Message>(options: CountWindowOptions<E>): Behavior<WindowMsg<E>> {
  const owner = 'countWindow';
  const { key, value, target } = checkBase(owner, options);
  const size = checkInteger(owner, 'size', options.size, 1);

  return receive<CountState, WindowMsg<E>>(
    { accs: new Map(), skipped: 0 },
    (state, message, ctx) => {
      if (isClose(message)) return state; // not used by count windows
      const v = finiteValue(state, ctx, message, value);
      if (v === undefined) return state;
      const k = key(message);
      const now = ctx.clock.now();
      const acc = add(state.accs, k, v, now);
      if (acc.count >= size) {
        state.accs.delete(k);
        ctx.send(target, aggregate(k, acc, acc.first, now));
      }
      return state;
    },
    {
      onStart: () => ({ accs: new Map(), skipped: 0 }),
      describe: (state) => ({ size, keys: state.accs.size, skipped: state.skipped }),
    },
  );
}

function checkBase<E extends Message>(owner: string, options: WindowOptionsBase<E>): WindowOptionsBase<E> {
  checkObject(owner, options);
  return {
    key: checkFunction(owner, 'key', options.key),
    value: checkFunction(owner, 'value', options.value),
    target: checkRef(owner, 'target', options.target),
  };
}

function isClose<E extends Message>(message: WindowMsg<E>): message is WindowClose {
  return message.type === CLOSE.type;
}

/** The event's value, or `undefined` (skipped, logged, counted) when it is not a finite number. */
function finiteValue<E extends Message>(
  state: { skipped: number },
  ctx: ActorContext<WindowMsg<E>>,
  event: E,
  value: (event: E) => number,
): number | undefined {
  const v = value(event);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  state.skipped++;
  ctx.log.warn(
    { event: event.type, skipped: state.skipped },
    'window: value is not a finite number; event skipped',
  );
  return undefined;
}

/** Adds `v` to the aggregate of key `k`, creating it (first event at `now`) if needed. */
function add(accs: Map<string, Acc>, k: string, v: number, now: number): Acc {
  const acc = accs.get(k);
  if (acc === undefined) {
    const created: Acc = { count: 1, sum: v, min: v, max: v, first: now };
    accs.set(k, created);
    return created;
  }
  acc.count++;
  acc.sum += v;
  if (v < acc.min) acc.min = v;
  if (v > acc.max) acc.max = v;
  return acc;
}

function aggregate(key: string, acc: Acc, start: number, end: number): WindowAggregate {
  const { count, sum, min, max } = acc;
  return { type: 'WindowAggregate', key, count, sum, min, max, avg: sum / count, start, end };
}
