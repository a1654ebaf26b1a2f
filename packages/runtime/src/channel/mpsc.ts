import { BoundedQueue, type BoundedQueueOptions, DROPPED, QUEUED } from './bounded-queue.js';
import { closeWhenCollected, forget, releaseSender, SenderToken, trackSender } from './handle-registry.js';
import {
  EMPTY,
  OK,
  RECV_ABORTED,
  RECV_CLOSED,
  type RecvResult,
  type SendResult,
  type TryRecvResult,
  type TrySendResult,
  type WaitOptions,
} from './results.js';
import { Waiter, WaiterQueue } from './waiter-queue.js';

/** Options of {@link mpsc}: the overflow policy (default `'block'`) and the drop callback. */
export type MpscOptions<T> = BoundedQueueOptions<T>;

/**
 * Creates a bounded multi-producer, single-consumer channel.
 *
 * **Capacity.** Buffers at most `capacity` values; `capacity` must be an integer ≥ 1, else
 * `RangeError`. Storage grows lazily (doubling from 8 slots), so an idle channel stays small.
 *
 * **When full.** Decided by `options.overflow` (see {@link OverflowPolicy}); the default
 * `'block'` makes `send` wait, waiting senders being served in FIFO order, and makes `trySend`
 * return `{ ok: false, reason: 'full', value }`. A free slot goes to the oldest waiting sender
 * before any later `trySend`. The dropping policies never wait; every value they discard is
 * counted in `dropped` and passed to `options.onDrop`.
 *
 * **Closing.** The channel closes when `rx.close()` is called or when every {@link Sender}
 * (the first and each `clone()`) has been closed. Values already buffered stay receivable;
 * after the last one `recv` returns `{ ok: false, reason: 'closed' }` and `for await` ends.
 * Closing wakes every waiter: waiting senders get their value back with `reason: 'closed'`.
 * A handle that is garbage-collected without being closed is closed for you (best effort,
 * through `FinalizationRegistry`): a dropped receiver does not leave senders waiting forever.
 *
 * **Gotchas.** `{ ok: true }` means "enqueued", not "received" or "processed". If a `signal`
 * aborts a waiting `send`, the value was not enqueued and is handed back.
 *
 * @example
 * const [tx, rx] = mpsc<number>(1);
 * tx.trySend(1); // { ok: true }
 * tx.trySend(2); // { ok: false, reason: 'full', value: 2 }
 * await rx.recv(); // { ok: true, value: 1 }
 */
export function mpsc<T>(capacity: number, options?: MpscOptions<T>): [Sender<T>, Receiver<T>] {
  const channel = new Channel<T>(new BoundedQueue<T>(capacity, options));
  return [new Sender(channel), new Receiver(channel)];
}

/**
 * The sending half of an {@link mpsc} channel. Clone it for each producer; the channel closes
 * when every clone has been closed (or the receiver closed it).
 */
export class Sender<T> {
  readonly #channel: Channel<T>;
  readonly #token: SenderToken;

  /** @internal Use {@link mpsc}. */
  constructor(channel: Channel<T>) {
    this.#channel = channel;
    this.#token = new SenderToken(channel);
    trackSender(this, this.#token);
  }

  /**
   * Enqueues `value` without waiting.
   *
   * Returns `{ ok: true }` when enqueued (under `dropOldest`/`latest` possibly after evicting
   * older values, which are counted as dropped). Otherwise hands the value back:
   * `reason: 'full'` under `block` (not counted: the caller still owns it), `'dropped'` under
   * `dropNewest` (counted and passed to `onDrop`), `'closed'` once the channel is closed.
   * Never throws, never allocates a promise.
   */
  trySend(value: T): TrySendResult<T> {
    return this.#channel.trySend(value);
  }

  /**
   * Enqueues `value`, waiting for room while the channel is full under `block`.
   *
   * Waiting senders are served FIFO. Resolves `{ ok: true }` once enqueued; `reason: 'closed'`
   * if the channel is or becomes closed while waiting; `reason: 'aborted'` if `signal` aborts
   * first. In both cases the value was not enqueued and is handed back. Under the dropping
   * policies it never waits and resolves like {@link Sender.trySend}. Never rejects.
   */
  send(value: T, options?: WaitOptions): Promise<SendResult<T>> {
    return this.#channel.send(value, options?.signal);
  }

  /** Another sender on the same channel. Throws `TypeError` if this sender is closed. */
  clone(): Sender<T> {
    if (this.#token.released) throw new TypeError('cannot clone a closed Sender');
    this.#channel.senders++;
    return new Sender(this.#channel);
  }

  /**
   * Closes this sender. Idempotent. The channel closes when the last open sender closes;
   * values already buffered are still delivered.
   */
  close(): void {
    releaseSender(this.#token);
  }

  /** Whether the channel is closed (by the receiver, or by the last sender). */
  get isClosed(): boolean {
    return this.#channel.closed;
  }

  /** Values buffered now. */
  get length(): number {
    return this.#channel.queue.length;
  }

  /** The channel's capacity, as given to {@link mpsc}. */
  get capacity(): number {
    return this.#channel.queue.capacity;
  }

  /** Values discarded by the overflow policy so far (always 0 under `block`). */
  get dropped(): number {
    return this.#channel.queue.dropped;
  }
}

/**
 * The receiving half of an {@link mpsc} channel: one consumer. It is an async iterable that
 * ends after the channel is closed and drained; leaving a `for await` loop early (`break`,
 * `throw`) closes the channel.
 */
export class Receiver<T> implements AsyncIterable<T> {
  readonly #channel: Channel<T>;

  /** @internal Use {@link mpsc}. */
  constructor(channel: Channel<T>) {
    this.#channel = channel;
    closeWhenCollected(this, channel);
  }

  /**
   * Takes the oldest buffered value without waiting: `{ ok: true, value }`, or
   * `{ ok: false, reason: 'empty' }` while open, or `reason: 'closed'` once closed and drained.
   * Taking a value lets the oldest waiting sender enqueue its own. Never throws.
   */
  tryRecv(): TryRecvResult<T> {
    return this.#channel.tryRecv();
  }

  /**
   * Takes the oldest value, waiting while the channel is empty and open. Resolves
   * `{ ok: false, reason: 'closed' }` once the channel is closed and drained, or
   * `reason: 'aborted'` if `signal` aborts first (nothing is consumed). Several pending `recv`
   * calls are served in call order. Never rejects.
   */
  recv(options?: WaitOptions): Promise<RecvResult<T>> {
    return this.#channel.recv(options?.signal);
  }

  /**
   * Closes the channel: further sends get `reason: 'closed'` (waiting senders are woken with
   * their value), while values already buffered stay receivable. Idempotent.
   */
  close(): void {
    forget(this.#channel);
    this.#channel.close();
  }

  /** Whether the channel is closed. Buffered values may remain. */
  get isClosed(): boolean {
    return this.#channel.closed;
  }

  /** Values buffered now. */
  get length(): number {
    return this.#channel.queue.length;
  }

  /** The channel's capacity. */
  get capacity(): number {
    return this.#channel.queue.capacity;
  }

  /** Values discarded by the overflow policy so far. */
  get dropped(): number {
    return this.#channel.queue.dropped;
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: async () => {
        const r = this.#channel.tryRecv();
        const result = r.ok || r.reason === 'closed' ? r : await this.#channel.recv(undefined);
        return result.ok ? { done: false, value: result.value } : { done: true, value: undefined };
      },
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }
}

class SendWaiter<T> extends Waiter {
  constructor(
    readonly value: T,
    readonly resolve: (result: SendResult<T>) => void,
  ) {
    super();
  }
}

class RecvWaiter<T> extends Waiter {
  constructor(readonly resolve: (result: RecvResult<T>) => void) {
    super();
  }
}

/**
 * The shared state of one mpsc channel. Invariants: receivers wait only while the queue is
 * empty; senders wait only while it is full (under `block`).
 *
 * @internal
 */
class Channel<T> {
  senders = 1;
  closed = false;
  readonly sendWaiters = new WaiterQueue<SendWaiter<T>>();
  readonly recvWaiters = new WaiterQueue<RecvWaiter<T>>();

  constructor(readonly queue: BoundedQueue<T>) {}

  trySend(value: T): TrySendResult<T> {
    if (this.closed) return { ok: false, reason: 'closed', value };
    if (this.recvWaiters.length > 0) {
      // A waiting receiver means the queue is empty: hand the value over directly.
      const receiver = this.recvWaiters.shift() as RecvWaiter<T>;
      receiver.unwatchAbort();
      receiver.resolve({ ok: true, value });
      return OK;
    }
    const outcome = this.queue.offer(value);
    if (outcome === QUEUED) return OK;
    return outcome === DROPPED
      ? { ok: false, reason: 'dropped', value }
      : { ok: false, reason: 'full', value };
  }

  send(value: T, signal: AbortSignal | undefined): Promise<SendResult<T>> {
    if (signal?.aborted) return Promise.resolve({ ok: false, reason: 'aborted', value });
    const r = this.trySend(value);
    if (r.ok || r.reason !== 'full') return Promise.resolve(r);
    return new Promise((resolve) => {
      const waiter = new SendWaiter(value, resolve);
      this.sendWaiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (this.sendWaiters.remove(waiter)) resolve({ ok: false, reason: 'aborted', value });
      });
    });
  }

  tryRecv(): TryRecvResult<T> {
    if (this.queue.length > 0) {
      const value = this.queue.shift();
      if (this.sendWaiters.length > 0) this.admitWaitingSender();
      return { ok: true, value };
    }
    return this.closed ? RECV_CLOSED : EMPTY;
  }

  recv(signal: AbortSignal | undefined): Promise<RecvResult<T>> {
    if (signal?.aborted) return Promise.resolve(RECV_ABORTED);
    const r = this.tryRecv();
    if (r.ok || r.reason === 'closed') return Promise.resolve(r);
    return new Promise((resolve) => {
      const waiter = new RecvWaiter<T>(resolve);
      this.recvWaiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (this.recvWaiters.remove(waiter)) resolve(RECV_ABORTED);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = this.sendWaiters.shift(); w !== null; w = this.sendWaiters.shift()) {
      w.unwatchAbort();
      w.resolve({ ok: false, reason: 'closed', value: w.value });
    }
    // Receivers wait only on an empty queue, so there is nothing left for them.
    for (let w = this.recvWaiters.shift(); w !== null; w = this.recvWaiters.shift()) {
      w.unwatchAbort();
      w.resolve(RECV_CLOSED);
    }
  }

  /** A slot was freed: the oldest waiting sender's value takes it. */
  private admitWaitingSender(): void {
    const waiter = this.sendWaiters.shift();
    if (waiter === null) return;
    waiter.unwatchAbort();
    this.queue.push(waiter.value);
    waiter.resolve(OK);
  }
}
