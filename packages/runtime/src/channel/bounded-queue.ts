import { type OverflowPolicy, validateCapacity, validateOverflow } from './overflow.js';
import { RingBuffer } from './ring-buffer.js';

/** @internal The value is queued (possibly after evicting older ones under `dropOldest`/`latest`). */
export const QUEUED = 0;
/** @internal Full under `block`: nothing changed, the caller still owns the value. */
export const FULL = 1;
/** @internal Full under `dropNewest`: the value was dropped, counted and passed to `onDrop`. */
export const DROPPED = 2;
/** @internal Outcome of {@link BoundedQueue.offer}. */
export type Offer = typeof QUEUED | typeof FULL | typeof DROPPED;

/** Options shared by every bounded queue: mpsc channels now, actor mailboxes next. */
export interface BoundedQueueOptions<T> {
  /** What happens to a value that arrives while the queue is full. Default `'block'`. */
  readonly overflow?: OverflowPolicy | undefined;
  /**
   * Called with every value a dropping policy discards, right after the queue's state is
   * updated. It must not throw; if it does, the error propagates from the send that caused
   * the drop (the value is still counted as dropped).
   */
  readonly onDrop?: ((value: T) => void) | undefined;
}

/**
 * A bounded FIFO with an overflow policy and a drop counter: the one queue that mpsc channels
 * and actor mailboxes are built on. It is a {@link RingBuffer} (storage grows lazily) whose
 * `offer` applies the policy; `push` appends without it, for callers that checked `isFull`.
 *
 * @internal Not exported from the package; its contract surfaces through `mpsc` and mailboxes.
 */
export class BoundedQueue<T> extends RingBuffer<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  /** Values discarded by the overflow policy so far. */
  dropped = 0;
  private readonly onDrop: ((value: T) => void) | undefined;
  /** The number of values the queue may hold: 1 under `latest`, else `capacity`. */
  private readonly limit: number;

  constructor(capacity: number, options: BoundedQueueOptions<T> = {}) {
    const limit = validateOverflow(options.overflow ?? 'block') === 'latest' ? 1 : validateCapacity(capacity);
    super(limit);
    this.capacity = validateCapacity(capacity);
    this.overflow = options.overflow ?? 'block';
    if (options.onDrop !== undefined && typeof options.onDrop !== 'function') {
      throw new TypeError(`onDrop must be a function; got ${typeof options.onDrop}`);
    }
    this.onDrop = options.onDrop;
    this.limit = limit;
  }

  /** Whether a value offered now would not simply be appended. */
  get isFull(): boolean {
    return this.length >= this.limit;
  }

  /** Appends `value`, applying the overflow policy when full. */
  offer(value: T): Offer {
    if (this.length < this.limit) {
      this.push(value);
      return QUEUED;
    }
    switch (this.overflow) {
      case 'block':
        return FULL;
      case 'dropNewest':
        this.drop(value);
        return DROPPED;
      default: {
        // dropOldest and latest: evict from the head until there is room (one slot for latest).
        const evicted = this.shift();
        this.push(value);
        this.drop(evicted);
        return QUEUED;
      }
    }
  }

  private drop(value: T): void {
    this.dropped++;
    this.onDrop?.(value);
  }
}
