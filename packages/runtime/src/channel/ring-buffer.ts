/**
 * A FIFO ring buffer that grows lazily: no storage until the first push, then 8 slots, doubling
 * (powers of two) up to the smallest power of two that holds `maxLength`. An idle channel of
 * capacity 1024 therefore holds no slots, and a lightly used one 8, not 1024. Callers enforce `maxLength`; the buffer only guarantees it never
 * allocates beyond it. Removed slots are cleared so the buffer keeps no value alive.
 *
 * @internal Not exported from the package.
 */
export class RingBuffer<T> {
  private slots: (T | undefined)[];
  private mask: number;
  private head = 0;
  private size = 0;
  private readonly maxSlots: number;

  constructor(maxLength: number) {
    this.maxSlots = nextPowerOfTwo(maxLength);
    this.slots = NO_SLOTS as (T | undefined)[];
    this.mask = 0;
  }

  get length(): number {
    return this.size;
  }

  /** Number of allocated slots (for memory tests and benchmarks). */
  get allocated(): number {
    return this.slots.length;
  }

  push(value: T): void {
    if (this.size === this.slots.length) this.grow();
    this.slots[(this.head + this.size) & this.mask] = value;
    this.size++;
  }

  /** Removes and returns the oldest value. The caller checks `length > 0` first. */
  shift(): T {
    const head = this.head;
    const value = this.slots[head] as T;
    this.slots[head] = undefined;
    this.head = (head + 1) & this.mask;
    this.size--;
    return value;
  }

  /** Removes every value, oldest first, and returns them. */
  drain(): T[] {
    const out: T[] = [];
    while (this.size > 0) out.push(this.shift());
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const length = old.length === 0 ? Math.min(INITIAL_SLOTS, this.maxSlots) : old.length * 2;
    if (length > this.maxSlots) throw new RangeError('RingBuffer grown past its maximum length');
    const slots = new Array<T | undefined>(length).fill(undefined);
    for (let i = 0; i < this.size; i++) slots[i] = old[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = length - 1;
    this.head = 0;
  }
}

/** Shared by every empty buffer: nothing is allocated until the first push. */
const NO_SLOTS: readonly unknown[] = [];
const INITIAL_SLOTS = 8;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
