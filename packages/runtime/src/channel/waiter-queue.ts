import { describe } from './overflow.js';

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

/**
 * @internal A rejected promise (`TypeError`) if `signal` is neither undefined nor an
 * `AbortSignal` — checked before anything is parked or taken, so misuse changes nothing — else
 * null. Checked by shape, so signals from another realm pass.
 */
export function rejectBadSignal(signal: unknown): Promise<never> | null {
  if (signal === undefined) return null;
  const s = signal as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
  if (
    s !== null &&
    typeof s === 'object' &&
    typeof s.aborted === 'boolean' &&
    typeof s.addEventListener === 'function' &&
    typeof s.removeEventListener === 'function'
  ) {
    return null;
  }
  return Promise.reject(new TypeError(`signal must be an AbortSignal; got ${describe(signal)}`));
}
