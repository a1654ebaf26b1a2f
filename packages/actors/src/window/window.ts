import type { OptionChecks } from '@troupe/runtime';
import { type ActorContext, type ActorRef, type Behavior, type Message, receive } from '@troupe/runtime';
import { checkDuration, checkFunction, checkInteger, checkOptions, checkRef } from '../check-options.js';
import { deadLetterFailed, sendGuarded } from '../failed-message.js';

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
  /**
   * The key an event is aggregated under (e.g. a sensor id). A throw, or a result that is not a
   * string, fails that event only (see the factories' **Callbacks that throw**).
   */
  readonly key: (event: E) => string;
  /**
   * The value aggregated (e.g. a temperature). Non-finite values are skipped; a throw fails
   * that event only.
   */
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

/** What both kinds of window count, besides their aggregates (shown in `system.tree()` details). */
interface Counts {
  /** Events whose value was not a finite number (skipped, not failed). */
  skipped: number;
  /** Events whose `key` threw or returned a non-string (each a `failed` dead letter). */
  keyErrors: number;
  /** Events whose `value` threw (each a `failed` dead letter). */
  valueErrors: number;
  /** Aggregates the target threw on (each a `failed` dead letter for the target). */
  emitErrors: number;
}

interface TimeState extends Counts {
  start: number;
  end: number;
  readonly accs: Map<string, Acc>;
}

interface CountState extends Counts {
  readonly accs: Map<string, Acc>;
}

const counts = (): Counts => ({ skipped: 0, keyErrors: 0, valueErrors: 0, emitErrors: 0 });
const showCounts = (c: Counts) => ({
  skipped: c.skipped,
  keyErrors: c.keyErrors,
  valueErrors: c.valueErrors,
  emitErrors: c.emitErrors,
});

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
 * counted (`skipped`, in `system.tree()` details).
 * **Callbacks that throw.** A throw from `key` or `value` (or a `key` that returns something
 * other than a string: a `TypeError`) fails that event only: it becomes a `failed` dead letter
 * carrying the error, addressed to the window, counted (`keyErrors` / `valueErrors`), and
 * logged (warn) the first time. The open window keeps every aggregate and closes on time; the
 * actor never fails for it. A `target` ref whose `trySend`/`send` throws (a user-made ref)
 * makes that aggregate a `failed` dead letter addressed to the target (`emitErrors`); the
 * other keys still go out.
 * **Stopping and restarts.** Only complete windows are emitted: the open window is discarded
 * when the actor stops or restarts; a restart begins with the window containing the clock's time.
 * **Errors.** Throws on bad options before anything starts, naming each bad field (one: its
 * `TypeError`/`RangeError`; several: an `InvalidOptionsError` listing them).
 *
 * @example
 * const avg = system.spawn(timeWindow<Reading>({
 *   sizeMs: 60_000, key: (r) => r.sensorId, value: (r) => r.temperature, target: dashboard,
 * }));
 */
export function timeWindow<E extends Message>(options: TimeWindowOptions<E>): Behavior<WindowMsg<E>> {
  const owner = 'timeWindow';
  const checks = checkOptions(owner, options);
  const { key, value, target } = checkBase(owner, options, checks);
  const sizeMs = checks.run(() => checkDuration(owner, 'sizeMs', options.sizeMs), 1);
  checks.done();

  /** Starts the window that contains the clock's time, unless it would begin before `notBefore`. */
  const open = (state: TimeState, ctx: ActorContext<WindowMsg<E>>, notBefore: number): TimeState => {
    const now = ctx.clock.now();
    state.start = Math.max(notBefore, Math.floor(now / sizeMs) * sizeMs);
    state.end = state.start + sizeMs;
    ctx.timers.startSingle(CLOSE_TIMER, CLOSE, state.end - now);
    return state;
  };

  return receive<TimeState, WindowMsg<E>>(
    { start: 0, end: 0, accs: new Map(), ...counts() },
    (state, message, ctx) => {
      if (isClose(message)) {
        for (const [k, acc] of state.accs)
          emit(state, ctx, target, aggregate(k, acc, state.start, state.end));
        state.accs.clear();
        return open(state, ctx, state.end);
      }
      const v = valueFor(state, ctx, message, value);
      if (v === undefined) return state;
      const k = keyFor(state, ctx, message, key);
      if (k !== undefined) add(state.accs, k, v, ctx.clock.now());
      return state;
    },
    {
      onStart: (ctx) =>
        open({ start: 0, end: 0, accs: new Map(), ...counts() }, ctx, Number.NEGATIVE_INFINITY),
      describe: (state) => ({
        sizeMs,
        start: state.start,
        end: state.end,
        keys: state.accs.size,
        ...showCounts(state),
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
 * **Callbacks that throw.** As {@link timeWindow}: that event is a `failed` dead letter; every
 * partly filled window is kept.
 * **Stopping and restarts.** Only full windows are emitted: partly filled ones are discarded.
 * **Errors.** As {@link timeWindow}.
 */
export function countWindow<E extends Message>(options: CountWindowOptions<E>): Behavior<WindowMsg<E>> {
  const owner = 'countWindow';
  const checks = checkOptions(owner, options);
  const { key, value, target } = checkBase(owner, options, checks);
  const size = checks.run(() => checkInteger(owner, 'size', options.size, 1), 1);
  checks.done();

  return receive<CountState, WindowMsg<E>>(
    { accs: new Map(), ...counts() },
    (state, message, ctx) => {
      if (isClose(message)) return state; // not used by count windows
      const v = valueFor(state, ctx, message, value);
      if (v === undefined) return state;
      const k = keyFor(state, ctx, message, key);
      if (k === undefined) return state;
      const now = ctx.clock.now();
      const acc = add(state.accs, k, v, now);
      if (acc.count >= size) {
        state.accs.delete(k);
        emit(state, ctx, target, aggregate(k, acc, acc.first, now));
      }
      return state;
    },
    {
      onStart: () => ({ accs: new Map(), ...counts() }),
      describe: (state) => ({ size, keys: state.accs.size, ...showCounts(state) }),
    },
  );
}

function checkBase<E extends Message>(
  owner: string,
  options: WindowOptionsBase<E>,
  checks: OptionChecks,
): WindowOptionsBase<E> {
  return {
    key: checks.run(() => checkFunction(owner, 'key', options.key), String),
    value: checks.run(() => checkFunction(owner, 'value', options.value), Number),
    target: checks.run(() => checkRef(owner, 'target', options.target), options.target),
  };
}

function isClose<E extends Message>(message: WindowMsg<E>): message is WindowClose {
  return message.type === CLOSE.type;
}

/**
 * The event's value, or `undefined` when the event does not count: the value is not a finite
 * number (skipped, logged, counted), or `value` threw (a `failed` dead letter, counted).
 */
function valueFor<E extends Message>(
  state: Counts,
  ctx: ActorContext<WindowMsg<E>>,
  event: E,
  value: (event: E) => number,
): number | undefined {
  let v: number;
  try {
    v = value(event);
  } catch (error) {
    if (state.valueErrors++ === 0) ctx.log.warn({ err: error }, 'window: value threw; the event failed');
    deadLetterFailed(ctx, event, ctx.self.path, error);
    return undefined;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  state.skipped++;
  ctx.log.warn(
    { event: event.type, skipped: state.skipped },
    'window: value is not a finite number; event skipped',
  );
  return undefined;
}

/** The event's key, or `undefined` when `key` threw or returned a non-string (a `failed` dead letter, counted). */
function keyFor<E extends Message>(
  state: Counts,
  ctx: ActorContext<WindowMsg<E>>,
  event: E,
  key: (event: E) => string,
): string | undefined {
  try {
    const k = key(event);
    if (typeof k === 'string') return k;
    throw new TypeError(`window: key must return a string; got ${k === null ? 'null' : typeof k}`);
  } catch (error) {
    if (state.keyErrors++ === 0) ctx.log.warn({ err: error }, 'window: key threw; the event failed');
    deadLetterFailed(ctx, event, ctx.self.path, error);
    return undefined;
  }
}

/** Sends an aggregate to the target with backpressure; a throwing target fails that aggregate only. */
function emit<E extends Message>(
  state: Counts,
  ctx: ActorContext<WindowMsg<E>>,
  target: ActorRef<WindowAggregate>,
  aggregate: WindowAggregate,
): void {
  if (!sendGuarded(ctx, target, aggregate) && state.emitErrors++ === 0) {
    ctx.log.warn({ target: target.path }, 'window: the target threw; the aggregate is a failed dead letter');
  }
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
