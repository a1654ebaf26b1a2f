import { closeWhenCollected, forget, SenderHandle } from './handle-registry.js';
import {
  OK,
  type Ok,
  RECV_ABORTED,
  RECV_CLOSED,
  type RecvAborted,
  type RecvClosed,
  type WaitOptions,
} from './results.js';
import { rejectBadSignal, Waiter, WaiterQueue } from './waiter-queue.js';

/** Result of {@link WatchReceiver.changed}. */
export type ChangedResult = Ok | RecvClosed | RecvAborted;

/** Result of {@link WatchSender.send}: `closed` once this sender was closed (the value is handed back). */
export type WatchSendResult<T> = Ok | { readonly ok: false; readonly reason: 'closed'; readonly value: T };

/**
 * Creates a watch channel: it holds only the latest value, starting with `initial`. Returns a
 * sender and a first receiver; `tx.subscribe()` makes more.
 *
 * **Capacity.** One value. Sending never waits; it replaces the value and bumps a version.
 *
 * **Seen.** Each receiver remembers the version it last *saw*. `changed()` resolves as soon
 * as the current version is newer than that, and marks it seen; `borrowAndUpdate()` marks it
 * seen too; `borrow()` does not. Intermediate values sent between two looks are never seen:
 * a receiver only ever observes the latest. A new receiver has seen the value current when it
 * subscribed.
 *
 * **Closing.** The channel closes when every sender is closed. A receiver whose current value
 * is unseen still gets one `changed()` that resolves `{ ok: true }`; after that `changed()`
 * resolves `{ ok: false, reason: 'closed' }`. `borrow()` keeps returning the last value.
 *
 * @example
 * const [tx, rx] = watch({ price: 1 });
 * tx.send({ price: 2 });
 * await rx.changed(); // { ok: true }
 * rx.borrowAndUpdate(); // { price: 2 }
 */
export function watch<T>(initial: T): [WatchSender<T>, WatchReceiver<T>] {
  const channel = new WatchChannel<T>(initial);
  return [new WatchSender(channel), new WatchReceiver(channel, channel.version)];
}

/** The sending half of a {@link watch} channel. */
export class WatchSender<T> extends SenderHandle<WatchChannel<T>> {
  /** @internal Use {@link watch}. */
  constructor(channel: WatchChannel<T>) {
    super(channel);
  }

  /**
   * Replaces the value and wakes every receiver waiting in `changed()`. Works with no receiver
   * (later subscribers see it). Returns `closed` with the value handed back if this sender has
   * been closed.
   */
  send(value: T): WatchSendResult<T> {
    if (this.token.released) return { ok: false, reason: 'closed', value };
    this.channel.publish(value);
    return OK;
  }

  /**
   * Computes the next value from the current one (`fn` may mutate it and return the same
   * object) and notifies receivers exactly as {@link WatchSender.send} does. If `fn` throws,
   * the value and version stay as they were and the error propagates. On a closed sender `fn`
   * is not called and the result is `closed` carrying the current value.
   */
  sendModify(fn: (current: T) => T): WatchSendResult<T> {
    const current = this.channel.value;
    if (this.token.released) return { ok: false, reason: 'closed', value: current };
    this.channel.publish(fn(current));
    return OK;
  }

  /** The current value, without marking anything seen. */
  borrow(): T {
    return this.channel.value;
  }

  /** A new receiver that has seen the current value. */
  subscribe(): WatchReceiver<T> {
    return new WatchReceiver(this.channel, this.channel.version);
  }

  /** Another sender on the same channel. Throws `TypeError` if this sender is closed. */
  clone(): WatchSender<T> {
    this.claimClone('WatchSender');
    return new WatchSender(this.channel);
  }

  /** Receivers open now. */
  get receiverCount(): number {
    return this.channel.receivers;
  }

  get isClosed(): boolean {
    return this.channel.closed;
  }
}

/** A receiver of a {@link watch} channel: the latest value plus what it has seen. */
export class WatchReceiver<T> {
  readonly #channel: WatchChannel<T>;
  readonly #state: ReceiverState<T>;

  /** @internal Use {@link watch}. */
  constructor(channel: WatchChannel<T>, seen: number) {
    this.#channel = channel;
    this.#state = new ReceiverState(channel, seen);
    closeWhenCollected(this, this.#state);
  }

  /** The current value. Does not mark it seen. Still works after close. */
  borrow(): T {
    return this.#channel.value;
  }

  /** The current value, marked seen. */
  borrowAndUpdate(): T {
    this.#state.seen = this.#channel.version;
    return this.#channel.value;
  }

  /** Whether the current value is newer than the last one seen. */
  hasChanged(): boolean {
    return this.#state.open && this.#channel.version !== this.#state.seen;
  }

  /**
   * Resolves `{ ok: true }` as soon as the value is newer than the last seen, marking it
   * seen; `{ ok: false, reason: 'closed' }` once every sender is closed and nothing unseen is
   * left (or this receiver was closed); `reason: 'aborted'` if `signal` aborts first. Never
   * rejects.
   */
  changed(options?: WaitOptions): Promise<ChangedResult> {
    return this.#channel.changed(this.#state, options?.signal);
  }

  /** Another receiver with the same seen version. Throws `TypeError` if this receiver is closed. */
  clone(): WatchReceiver<T> {
    if (!this.#state.open) throw new TypeError('cannot clone a closed WatchReceiver');
    return new WatchReceiver(this.#channel, this.#state.seen);
  }

  /** Unsubscribes (idempotent): a pending `changed()` resolves `closed`. */
  close(): void {
    forget(this.#state);
    this.#state.close();
  }
}

class ReceiverState<T> {
  open = true;

  constructor(
    private readonly channel: WatchChannel<T>,
    public seen: number,
  ) {
    channel.receivers++;
  }

  close(): void {
    this.channel.unsubscribe(this);
  }
}

class ChangedWaiter<T> extends Waiter {
  constructor(
    readonly state: ReceiverState<T>,
    readonly resolve: (result: ChangedResult) => void,
  ) {
    super();
  }
}

/** @internal */
class WatchChannel<T> {
  senders = 1;
  receivers = 0;
  closed = false;
  version = 0;
  private readonly waiters = new WaiterQueue<ChangedWaiter<T>>();

  constructor(public value: T) {}

  publish(value: T): void {
    this.value = value;
    this.version++;
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) {
      w.state.seen = this.version;
      w.unwatchAbort();
      w.resolve(OK);
    }
  }

  changed(state: ReceiverState<T>, signal: AbortSignal | undefined): Promise<ChangedResult> {
    const bad = rejectBadSignal(signal);
    if (bad !== null) return bad;
    if (signal?.aborted) return Promise.resolve(RECV_ABORTED);
    if (!state.open) return Promise.resolve(RECV_CLOSED);
    if (this.version !== state.seen) {
      state.seen = this.version;
      return Promise.resolve(OK);
    }
    if (this.closed) return Promise.resolve(RECV_CLOSED);
    return new Promise((resolve) => {
      const waiter = new ChangedWaiter(state, resolve);
      this.waiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (this.waiters.remove(waiter)) resolve(RECV_ABORTED);
      });
    });
  }

  unsubscribe(state: ReceiverState<T>): void {
    if (!state.open) return;
    state.open = false;
    this.receivers--;
    for (let w = this.waiters.head; w !== null; ) {
      const next = w.next as ChangedWaiter<T> | null;
      if (w.state === state) {
        this.waiters.remove(w);
        w.unwatchAbort();
        w.resolve(RECV_CLOSED);
      }
      w = next;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) {
      w.unwatchAbort();
      w.resolve(RECV_CLOSED);
    }
  }
}
