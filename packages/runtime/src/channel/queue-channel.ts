import type { BoundedQueue } from './bounded-queue.js';
import { DROPPED, QUEUED } from './bounded-queue.js';
import {
  EMPTY,
  OK,
  RECV_ABORTED,
  RECV_CLOSED,
  type RecvResult,
  type SendResult,
  type TryRecvResult,
  type TrySendResult,
} from './results.js';
import { rejectBadSignal, Waiter, WaiterQueue } from './waiter-queue.js';

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

/** A consumer that is told when a value is queued (an actor cell), instead of parking in `recv`. */
export interface QueueConsumer {
  wake(): void;
}

/**
 * The shared state of one bounded channel: a {@link BoundedQueue} plus FIFO queues of parked
 * senders and receivers. `mpsc` wraps it in Sender/Receiver handles; an actor mailbox uses it
 * directly as its user lane, consuming with `tryRecv` and learning of new values through its
 * {@link QueueConsumer}'s `wake()`. Invariants: receivers wait only while the queue is empty; senders wait only
 * while it is full under `block`.
 *
 * @internal Not exported from the package.
 */
export class QueueChannel<T> {
  senders = 1;
  closed = false;
  /** Parked senders and receivers, allocated on first use so idle channels stay small. */
  private sendWaiters: WaiterQueue<SendWaiter<T>> | null = null;
  private recvWaiters: WaiterQueue<RecvWaiter<T>> | null = null;

  /**
   * @param consumer told after each value is queued (by `trySend`, or when a waiting sender is
   *   admitted), for a consumer that does not park in `recv`: a mailbox schedules its actor
   *   here. Not told of hand-offs to a waiting `recv`.
   */
  constructor(
    readonly queue: BoundedQueue<T>,
    private readonly consumer: QueueConsumer | null = null,
  ) {}

  trySend(value: T): TrySendResult<T> {
    if (this.closed) return { ok: false, reason: 'closed', value };
    if (this.recvWaiters !== null && this.recvWaiters.length > 0) {
      // A waiting receiver means the queue is empty: hand the value over directly.
      const receiver = this.recvWaiters.shift() as RecvWaiter<T>;
      receiver.unwatchAbort();
      receiver.resolve({ ok: true, value });
      return OK;
    }
    const outcome = this.queue.offer(value);
    if (outcome === QUEUED) {
      if (this.consumer !== null) this.consumer.wake();
      return OK;
    }
    return outcome === DROPPED
      ? { ok: false, reason: 'dropped', value }
      : { ok: false, reason: 'full', value };
  }

  send(value: T, signal: AbortSignal | undefined): Promise<SendResult<T>> {
    const bad = rejectBadSignal(signal);
    if (bad !== null) return bad;
    if (signal?.aborted) return Promise.resolve({ ok: false, reason: 'aborted', value });
    const r = this.trySend(value);
    if (r.ok || r.reason !== 'full') return Promise.resolve(r);
    return new Promise((resolve) => {
      const waiter = new SendWaiter(value, resolve);
      this.sendWaiters ??= new WaiterQueue();
      const waiters = this.sendWaiters;
      waiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (waiters.remove(waiter)) resolve({ ok: false, reason: 'aborted', value });
      });
    });
  }

  tryRecv(): TryRecvResult<T> {
    if (this.queue.length > 0) return { ok: true, value: this.take() };
    return this.closed ? RECV_CLOSED : EMPTY;
  }

  /** Takes the oldest value without a result object; the caller has checked `queue.length > 0`. */
  take(): T {
    const value = this.queue.shift();
    if (this.sendWaiters !== null && this.sendWaiters.length > 0) this.admitWaitingSender();
    return value;
  }

  recv(signal: AbortSignal | undefined): Promise<RecvResult<T>> {
    const bad = rejectBadSignal(signal);
    if (bad !== null) return bad;
    if (signal?.aborted) return Promise.resolve(RECV_ABORTED);
    const r = this.tryRecv();
    if (r.ok || r.reason === 'closed') return Promise.resolve(r);
    return new Promise((resolve) => {
      const waiter = new RecvWaiter<T>(resolve);
      this.recvWaiters ??= new WaiterQueue();
      const waiters = this.recvWaiters;
      waiters.push(waiter);
      waiter.watchAbort(signal, () => {
        if (waiters.remove(waiter)) resolve(RECV_ABORTED);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const senders = this.sendWaiters;
    for (let w = senders?.shift() ?? null; w !== null; w = senders?.shift() ?? null) {
      w.unwatchAbort();
      w.resolve({ ok: false, reason: 'closed', value: w.value });
    }
    // Receivers wait only on an empty queue, so there is nothing left for them.
    const receivers = this.recvWaiters;
    for (let w = receivers?.shift() ?? null; w !== null; w = receivers?.shift() ?? null) {
      w.unwatchAbort();
      w.resolve(RECV_CLOSED);
    }
  }

  /** A slot was freed: the oldest waiting sender's value takes it. */
  private admitWaitingSender(): void {
    const waiter = (this.sendWaiters as WaiterQueue<SendWaiter<T>>).shift();
    if (waiter === null) return;
    waiter.unwatchAbort();
    this.queue.push(waiter.value);
    if (this.consumer !== null) this.consumer.wake();
    waiter.resolve(OK);
  }
}
