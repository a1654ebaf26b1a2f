import { BoundedQueue, type BoundedQueueOptions } from './bounded-queue.js';
import { closeWhenCollected, forget, SenderHandle } from './handle-registry.js';
import { QueueChannel as Channel } from './queue-channel.js';
import type { RecvResult, SendResult, TryRecvResult, TrySendResult, WaitOptions } from './results.js';

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
export class Sender<T> extends SenderHandle<Channel<T>> {
  /** @internal Use {@link mpsc}. */
  constructor(channel: Channel<T>) {
    super(channel);
  }

  /**
   * Enqueues `value` without waiting.
   *
   * Returns `{ ok: true }` when enqueued (under `dropOldest`/`latest` possibly after evicting
   * older values, which are counted as dropped). Otherwise hands the value back:
   * `reason: 'full'` under `block` (not counted: the caller still owns it), `'dropped'` under
   * `dropNewest` (counted and passed to `onDrop`), `'closed'` once the channel or this sender
   * is closed.
   * Never throws, never allocates a promise.
   */
  trySend(value: T): TrySendResult<T> {
    return this.token.released ? { ok: false, reason: 'closed', value } : this.channel.trySend(value);
  }

  /**
   * Enqueues `value`, waiting for room while the channel is full under `block`.
   *
   * Waiting senders are served FIFO. Resolves `{ ok: true }` once enqueued; `reason: 'closed'`
   * if the channel (or this sender) is closed, or the channel closes while waiting; `reason: 'aborted'` if `signal` aborts
   * first. In both cases the value was not enqueued and is handed back. Under the dropping
   * policies it never waits and resolves like {@link Sender.trySend}. Never rejects.
   */
  send(value: T, options?: WaitOptions): Promise<SendResult<T>> {
    if (this.token.released) return Promise.resolve({ ok: false, reason: 'closed', value });
    return this.channel.send(value, options?.signal);
  }

  /** Another sender on the same channel. Throws `TypeError` if this sender is closed. */
  clone(): Sender<T> {
    this.claimClone('Sender');
    return new Sender(this.channel);
  }

  /** Whether the channel is closed (by the receiver, or by the last sender). */
  get isClosed(): boolean {
    return this.channel.closed;
  }

  /** Values buffered now. */
  get length(): number {
    return this.channel.queue.length;
  }

  /** The channel's capacity, as given to {@link mpsc}. */
  get capacity(): number {
    return this.channel.queue.capacity;
  }

  /** Values discarded by the overflow policy so far (always 0 under `block`). */
  get dropped(): number {
    return this.channel.queue.dropped;
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
