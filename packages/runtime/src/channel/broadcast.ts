import { closeWhenCollected, forget, SenderHandle } from './handle-registry.js';
import { validateCapacity } from './overflow.js';
import {
  type BroadcastRecvResult,
  type BroadcastTryRecvResult,
  EMPTY,
  RECV_ABORTED,
  RECV_CLOSED,
  type WaitOptions,
} from './results.js';
import { rejectBadSignal, Waiter, WaiterQueue } from './waiter-queue.js';

/**
 * Creates a broadcast channel: every receiver sees every value sent after it subscribed, in
 * send order. Returns a sender and a first receiver; `tx.subscribe()` makes more.
 *
 * **Capacity.** A fixed ring of the last `capacity` values (an integer ≥ 1, else `RangeError`),
 * allocated on the first send. A value is released as soon as every receiver that was
 * subscribed when it was sent has read it, or has unsubscribed, or has been collected.
 *
 * **When full.** Sending never waits: the newest value overwrites the oldest. A receiver that
 * falls more than `capacity` values behind gets `{ ok: false, reason: 'lagged', skipped: n }`
 * on its next receive, where `n` counts the values it missed. It stays subscribed, and the
 * receive after that returns the oldest value the ring still holds (tokio's
 * `RecvError::Lagged(n)`). For every receiver, values received + `skipped` = values sent since
 * it subscribed.
 *
 * **Closing.** The channel closes when every sender (the first and each `clone()`) is closed.
 * Each receiver still gets what it has not read, then `{ ok: false, reason: 'closed' }`.
 *
 * **Gotchas.** `send` returns how many receivers were subscribed; with none (or once closed)
 * it returns 0 and keeps nothing. Receivers are not async iterables, because a lag must be seen.
 *
 * @example
 * const [tx, rx] = broadcast<string>(2);
 * tx.send('a'); tx.send('b'); tx.send('c'); // each returns 1
 * rx.tryRecv(); // { ok: false, reason: 'lagged', skipped: 1 }
 * rx.tryRecv(); // { ok: true, value: 'b' }
 */
export function broadcast<T>(capacity: number): [BroadcastSender<T>, BroadcastReceiver<T>] {
  const channel = new BroadcastChannel<T>(validateCapacity(capacity));
  return [new BroadcastSender(channel), new BroadcastReceiver(channel)];
}

/** The sending half of a {@link broadcast} channel. */
export class BroadcastSender<T> extends SenderHandle<BroadcastChannel<T>> {
  /** @internal Use {@link broadcast}. */
  constructor(channel: BroadcastChannel<T>) {
    super(channel);
  }

  /**
   * Sends `value` to every current receiver without waiting and returns how many receivers were
   * subscribed (each will read it, or be told it lagged past it). 0 means nobody will: there is
   * no receiver, the channel is closed, or this sender was closed; the value is not kept.
   */
  send(value: T): number {
    return this.token.released ? 0 : this.channel.send(value);
  }

  /** A new receiver that sees the values sent from now on. */
  subscribe(): BroadcastReceiver<T> {
    return new BroadcastReceiver(this.channel);
  }

  /** Another sender on the same channel. Throws `TypeError` if this sender is closed. */
  clone(): BroadcastSender<T> {
    this.claimClone('BroadcastSender');
    return new BroadcastSender(this.channel);
  }

  /** Receivers subscribed now. */
  get receiverCount(): number {
    return this.channel.receivers;
  }

  get isClosed(): boolean {
    return this.channel.closed;
  }

  get capacity(): number {
    return this.channel.capacity;
  }
}

/** A receiver of a {@link broadcast} channel: its own position in the shared ring. */
export class BroadcastReceiver<T> {
  readonly #channel: BroadcastChannel<T>;
  readonly #cursor: Cursor<T>;

  /** @internal Use {@link broadcast} or {@link BroadcastSender.subscribe}. */
  constructor(channel: BroadcastChannel<T>) {
    this.#channel = channel;
    this.#cursor = channel.subscribe();
    closeWhenCollected(this, this.#cursor);
  }

  /**
   * Takes this receiver's next value without waiting: `{ ok: true, value }`;
   * `{ ok: false, reason: 'lagged', skipped }` after falling behind (see {@link broadcast});
   * `reason: 'empty'` when caught up; `reason: 'closed'` once closed and caught up, or after
   * this receiver unsubscribed. Never throws.
   */
  tryRecv(): BroadcastTryRecvResult<T> {
    return this.#channel.tryRecv(this.#cursor);
  }

  /**
   * Like {@link BroadcastReceiver.tryRecv} but waits while caught up and open; resolves
   * `{ ok: false, reason: 'aborted' }` if `signal` aborts first. Never rejects.
   */
  recv(options?: WaitOptions): Promise<BroadcastRecvResult<T>> {
    return this.#channel.recv(this.#cursor, options?.signal);
  }

  /** A new receiver on the same channel, starting at the newest position (tokio `resubscribe`). */
  resubscribe(): BroadcastReceiver<T> {
    return new BroadcastReceiver(this.#channel);
  }

  /**
   * Unsubscribes (idempotent): values this receiver had not read are released, a pending
   * `recv` resolves `closed`, and later receives return `closed`.
   */
  close(): void {
    forget(this.#cursor);
    this.#cursor.close();
  }

  /** Values sent but not yet read by this receiver (may exceed capacity when lagging). */
  get length(): number {
    return this.#cursor.open ? this.#channel.tail - this.#cursor.next : 0;
  }

  /** Total values this receiver has missed by lagging. */
  get skipped(): number {
    return this.#cursor.skipped;
  }
}

/** One receiver's position. Held by the channel; never references the receiver handle. */
class Cursor<T> {
  open = true;
  skipped = 0;

  constructor(
    private readonly channel: BroadcastChannel<T>,
    public next: number,
  ) {}

  close(): void {
    this.channel.unsubscribe(this);
  }
}

class RecvWaiter<T> extends Waiter {
  constructor(
    readonly cursor: Cursor<T>,
    readonly resolve: (result: BroadcastRecvResult<T>) => void,
  ) {
    super();
  }
}

/**
 * The shared ring. Slot `seq % capacity` holds the value sent as number `seq`, with `rem`
 * counting the receivers that still have to read it; at 0 the value is released.
 *
 * @internal
 */
class BroadcastChannel<T> {
  senders = 1;
  receivers = 0;
  closed = false;
  /** Sequence number of the next value sent. */
  tail = 0;
  private values: (T | undefined)[] = [];
  private seqs = new Float64Array(0);
  private rem = new Uint32Array(0);
  private readonly waiters = new WaiterQueue<RecvWaiter<T>>();

  constructor(readonly capacity: number) {}

  subscribe(): Cursor<T> {
    const cursor = new Cursor(this, this.tail);
    if (this.closed) cursor.open = false;
    else this.receivers++;
    return cursor;
  }

  send(value: T): number {
    if (this.closed || this.receivers === 0) return 0;
    if (this.values.length === 0) this.allocate();
    const seq = this.tail++;
    const i = seq % this.capacity;
    this.values[i] = value;
    this.seqs[i] = seq;
    this.rem[i] = this.receivers;
    // Waiting receivers were caught up (cursor.next === seq), so each takes exactly this value.
    // A receiver with several pending `recv` calls serves only its oldest; the others keep waiting.
    for (let w = this.waiters.head; w !== null; ) {
      const next = w.next as RecvWaiter<T> | null;
      if (w.cursor.next === seq) {
        this.waiters.remove(w);
        w.cursor.next = seq + 1;
        this.release(i);
        w.unwatchAbort();
        w.resolve({ ok: true, value });
      }
      w = next;
    }
    return this.receivers;
  }

  tryRecv(cursor: Cursor<T>): BroadcastTryRecvResult<T> {
    if (!cursor.open) return RECV_CLOSED;
    const next = cursor.next;
    if (next < this.tail) {
      const oldest = this.tail - this.capacity;
      if (next < oldest) {
        const skipped = oldest - next;
        cursor.next = oldest;
        cursor.skipped += skipped;
        return { ok: false, reason: 'lagged', skipped };
      }
      const i = next % this.capacity;
      const value = this.values[i] as T;
      this.release(i);
      cursor.next = next + 1;
      return { ok: true, value };
    }
    return this.closed ? RECV_CLOSED : EMPTY;
  }

  recv(cursor: Cursor<T>, signal: AbortSignal | undefined): Promise<BroadcastRecvResult<T>> {
    const bad = rejectBadSignal(signal);
    if (bad !== null) return bad;
    if (signal?.aborted) return Promise.resolve(RECV_ABORTED);
    const r = this.tryRecv(cursor);
    if (r.ok || r.reason !== 'empty') return Promise.resolve(r);
    return new Promise((resolve) => {
      const waiter = new RecvWaiter(cursor, resolve);
      this.waiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (this.waiters.remove(waiter)) resolve(RECV_ABORTED);
      });
    });
  }

  unsubscribe(cursor: Cursor<T>): void {
    if (!cursor.open) return;
    cursor.open = false;
    this.receivers--;
    // Release this receiver's claim on every value it had not read and that is still held.
    for (let seq = Math.max(cursor.next, this.tail - this.capacity); seq < this.tail; seq++) {
      const i = seq % this.capacity;
      if (this.seqs[i] === seq) this.release(i);
    }
    cursor.next = this.tail;
    for (let w = this.waiters.head; w !== null; ) {
      const next = w.next as RecvWaiter<T> | null;
      if (w.cursor === cursor) {
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

  /** One receiver is done with slot `i`; the last one releases the value. */
  private release(i: number): void {
    const left = (this.rem[i] as number) - 1;
    this.rem[i] = left;
    if (left === 0) this.values[i] = undefined;
  }

  private allocate(): void {
    this.values = new Array<T | undefined>(this.capacity).fill(undefined);
    this.seqs = new Float64Array(this.capacity).fill(-1);
    this.rem = new Uint32Array(this.capacity);
  }
}
