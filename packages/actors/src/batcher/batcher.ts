import { type ActorContext, type ActorRef, type Behavior, receive } from '@troupe/runtime';
import { checkDuration, checkInteger, checkOptions, checkRef } from '../check-options.js';
import { sendGuarded, tellGuarded } from '../failed-message.js';

/** A batch of items, in the order they were added; never empty. */
export interface Batch<T> {
  readonly type: 'Batch';
  readonly items: readonly T[];
}

/** The age timer's message (sent by the batcher to itself through its timers). */
export interface BatchAged {
  readonly type: '$batcher.aged';
}

/**
 * What a batcher accepts: `Add` one item, `Flush` the partial batch now (and its own
 * `$batcher.` timer message).
 */
export type BatcherMsg<T> =
  | { readonly type: 'Add'; readonly item: T }
  | { readonly type: 'Flush' }
  | BatchAged;

/** Options of {@link batcher}. */
export interface BatcherOptions<T> {
  /** A batch is emitted as soon as it holds this many items. Integer ≥ 1. */
  readonly maxSize: number;
  /** …or once its oldest item is this old, in ms on the system clock (> 0), whichever comes first. */
  readonly maxAgeMs: number;
  /** Receives each `Batch`. */
  readonly target: ActorRef<Batch<T>>;
}

interface State<T> {
  items: T[];
  batches: number;
  /** Batches the target threw on (each a `failed` dead letter for the target). */
  emitErrors: number;
}

const AGE_TIMER = 'age';
const AGED: BatchAged = { type: '$batcher.aged' };

/**
 * Groups items into batches by size or age, whichever comes first (the seeds' `chunks(n)` with
 * a deadline, as an actor).
 *
 * **Add.** Appends the item. When the batch reaches `maxSize` it is emitted at once. The first
 * item of a batch starts its age timer: when the item is `maxAgeMs` old, the batch is emitted
 * with whatever it holds.
 * **Flush.** Emits the partial batch now. A `Flush` (or an age timer) with nothing collected
 * emits nothing: batches are never empty.
 * **Emitting.** Each batch starts a new age timer on its next first item. Batches go to `target`
 * with backpressure (`ctx.send`): while the target's mailbox is full the batcher takes no new
 * item, which slows producers that `send` to it. A stopped target makes the batch a dead
 * letter (`stopped`).
 * **Stopping.** When the batcher stops (or restarts), the partial batch is flushed with `tell`
 * (a full target mailbox then makes it a `mailboxFull` dead letter), so accepted items are not
 * lost silently.
 * **A target that throws** (a user-made ref whose `trySend`, `send` or `tell` throws) fails that
 * batch only: it becomes a `failed` dead letter carrying the error, addressed to the target,
 * counted (`emitErrors` in `system.tree()` details); the batcher keeps collecting.
 * **Errors.** Throws on bad options before anything starts, naming each bad field (one: its
 * `TypeError`/`RangeError`; several: an `InvalidOptionsError` listing them).
 *
 * @example
 * const writer = system.spawn(batcher<Row>({ maxSize: 500, maxAgeMs: 200, target: dbWriter }));
 * writer.tell({ type: 'Add', item: row });
 */
export function batcher<T>(options: BatcherOptions<T>): Behavior<BatcherMsg<T>> {
  const owner = 'batcher';
  const checks = checkOptions(owner, options);
  const maxSize = checks.run(() => checkInteger(owner, 'maxSize', options.maxSize, 1), 1);
  const maxAgeMs = checks.run(() => checkDuration(owner, 'maxAgeMs', options.maxAgeMs), 1);
  const target = checks.run(() => checkRef(owner, 'target', options.target), options.target);
  checks.done();

  const emit = (state: State<T>, ctx: ActorContext<BatcherMsg<T>>, withBackpressure: boolean): void => {
    ctx.timers.cancel(AGE_TIMER);
    if (state.items.length === 0) return;
    const batch: Batch<T> = { type: 'Batch', items: state.items };
    state.items = [];
    state.batches++;
    const sent = withBackpressure ? sendGuarded(ctx, target, batch) : tellGuarded(ctx, target, batch);
    if (!sent && state.emitErrors++ === 0) {
      ctx.log.warn({ target: target.path }, 'batcher: the target threw; the batch is a failed dead letter');
    }
  };
  const flushOnExit = (state: State<T>, _reason: unknown, ctx: ActorContext<BatcherMsg<T>>) =>
    emit(state, ctx, false);

  return receive<State<T>, BatcherMsg<T>>(
    { items: [], batches: 0, emitErrors: 0 },
    (state, message, ctx) => {
      switch (message.type) {
        case 'Add':
          state.items.push(message.item);
          if (state.items.length >= maxSize) emit(state, ctx, true);
          else if (state.items.length === 1) ctx.timers.startSingle(AGE_TIMER, AGED, maxAgeMs);
          return state;
        case 'Flush':
        case '$batcher.aged':
          emit(state, ctx, true);
          return state;
        default:
          return message satisfies never;
      }
    },
    {
      onStart: () => ({ items: [], batches: 0, emitErrors: 0 }),
      onStop: flushOnExit,
      onRestart: flushOnExit,
      describe: (state) => ({
        pending: state.items.length,
        batches: state.batches,
        emitErrors: state.emitErrors,
        maxSize,
        maxAgeMs,
      }),
    },
  );
}
