/**
 * A FIFO of parked callers (waiting senders or receivers), as an intrusive doubly linked list
 * so that an aborted waiter leaves in O(1) and keeps nothing alive.
 *
 * @internal Not exported from the package.
 */
export class WaiterQueue<W extends Waiter> {
  private first: W | null = null;
  private last: W | null = null;
  private count = 0;

  get length(): number {
    return this.count;
  }

  get head(): W | null {
    return this.first;
  }

  push(waiter: W): void {
    waiter.queued = true;
    waiter.prev = this.last;
    waiter.next = null;
    if (this.last === null) this.first = waiter;
    else this.last.next = waiter;
    this.last = waiter;
    this.count++;
  }

  /** Removes and returns the oldest waiter, or `null`. */
  shift(): W | null {
    const waiter = this.first;
    if (waiter !== null) this.remove(waiter);
    return waiter;
  }

  /** Removes `waiter` if it is still queued; returns whether it was. */
  remove(waiter: W): boolean {
    if (!waiter.queued) return false;
    const { prev, next } = waiter;
    if (prev === null) this.first = next as W | null;
    else prev.next = next;
    if (next === null) this.last = prev as W | null;
    else next.prev = prev;
    waiter.prev = null;
    waiter.next = null;
    waiter.queued = false;
    this.count--;
    return true;
  }
}

/**
 * A parked caller. Subclasses add what the wake-up needs. Settling detaches the abort listener,
 * so a long-lived `AbortSignal` does not keep settled waiters alive.
 *
 * @internal
 */
export abstract class Waiter {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queued = false;
  private signal: AbortSignal | undefined = undefined;
  private listener: (() => void) | undefined = undefined;

  /** Calls `onAbort` once if `signal` aborts while this waiter is parked. */
  watchAbort(signal: AbortSignal | undefined, onAbort: () => void): void {
    if (signal === undefined) return;
    this.signal = signal;
    this.listener = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Detaches the abort listener; call when the waiter is settled for any reason. */
  unwatchAbort(): void {
    if (this.signal !== undefined && this.listener !== undefined) {
      this.signal.removeEventListener('abort', this.listener);
    }
    this.signal = undefined;
    this.listener = undefined;
  }
}
