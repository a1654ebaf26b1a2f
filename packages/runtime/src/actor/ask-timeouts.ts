import type { Clock } from '../time/clock.js';

/** @internal One pending ask, as the timeout queue sees it. */
export interface Deadline {
  deadline: number;
  settled: boolean;
  /** The queue it waits in (set by `add`). */
  queue: unknown;
  /** Called once when the deadline passes unsettled. */
  expire(): void;
}

/**
 * Every ask's timeout shares one clock timer. Asks with the same timeout expire in the order
 * they were made, so each distinct timeout keeps a FIFO and the timer is armed for the earliest
 * head. A settled ask leaves its FIFO as soon as it reaches the head; while no ask is pending,
 * the timer is unref'd so it never keeps the process alive (a pending ask does, until its
 * timeout: the promise always settles).
 *
 * @internal Not exported from the package.
 */
export class AskTimeouts {
  private readonly fifos = new Map<number, Fifo>();
  private pending = 0;
  private timer: unknown = undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  /** Whether the timer currently keeps the process alive. */
  private refed = false;
  private idleCheckScheduled = false;
  private readonly fire = () => this.expire();
  private readonly checkIdle = () => {
    this.idleCheckScheduled = false;
    if (this.pending > 0) return;
    for (const fifo of this.fifos.values()) fifo.dropSettled();
    this.setRef(false);
  };

  constructor(private readonly clock: Clock) {}

  /** Entries held in memory, pending or settled-but-not-yet-swept (for tests of the memory bound). */
  get held(): number {
    let n = 0;
    for (const fifo of this.fifos.values()) n += fifo.size;
    return n;
  }

  /** Registers `entry`. If the clock throws, nothing was registered and the error propagates. */
  add(entry: Deadline, timeoutMs: number): void {
    entry.deadline = this.clock.now() + timeoutMs;
    if (entry.deadline < this.armedFor) this.arm(entry.deadline, this.pending + 1);
    else if (!this.refed) this.setRef(true);
    let fifo = this.fifos.get(timeoutMs);
    if (fifo === undefined) {
      fifo = new Fifo();
      this.fifos.set(timeoutMs, fifo);
    }
    fifo.push(entry);
    entry.queue = fifo;
    this.pending++;
  }

  /**
   * The entry was settled (replied, or failed): forget it. Once nothing is pending the timer
   * is unref'd — checked once per event-loop turn rather than per ask, since toggling a Node
   * timer's ref costs a native call.
   */
  settled(entry: Deadline): void {
    // Asks usually settle in the order they were made: drop settled heads now, so a burst of
    // asks inside one event-loop turn does not pile up here.
    (entry.queue as Fifo | null)?.settledOne();
    if (--this.pending === 0 && !this.idleCheckScheduled) {
      this.idleCheckScheduled = true;
      setImmediate(this.checkIdle);
    }
  }

  private arm(deadline: number, pending = this.pending): void {
    const timer = this.clock.setTimeout(this.fire, Math.max(0, deadline - this.clock.now()));
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = timer;
    this.armedFor = deadline;
    this.refed = true; // a new Node timer keeps the process alive
    if (pending === 0) this.setRef(false);
  }

  private setRef(ref: boolean): void {
    this.refed = ref;
    const t = this.timer as { ref?: () => void; unref?: () => void } | undefined;
    if (ref) t?.ref?.();
    else t?.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    this.refed = false;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [timeoutMs, fifo] of this.fifos) {
      fifo.dropSettled();
      for (let head = fifo.peek(); head !== undefined && head.deadline <= now; head = fifo.peek()) {
        fifo.shift();
        head.expire();
        fifo.dropSettled();
      }
      const head = fifo.peek();
      if (head === undefined) this.fifos.delete(timeoutMs);
      else next = Math.min(next, head.deadline);
    }
    if (next === Number.POSITIVE_INFINITY) return;
    try {
      this.arm(next);
    } catch {
      // The clock cannot time anything (its setTimeout threw inside this timer's callback, where
      // nobody could catch it): rather than leave the remaining asks pending for ever, they time
      // out now.
      this.expireAll();
    }
  }

  private expireAll(): void {
    const fifos = [...this.fifos.values()];
    this.fifos.clear();
    for (const fifo of fifos) {
      for (let head = fifo.peek(); head !== undefined; head = fifo.peek()) {
        fifo.shift();
        if (!head.settled) head.expire();
      }
    }
  }
}

/**
 * A FIFO of deadlines (array + head index, compacted as it drains). Settled entries leave from
 * the head at once; those behind a pending head are counted and swept out once they are the
 * majority, so memory follows the number of pending asks, not the ask rate × timeout.
 */
class Fifo {
  private items: Deadline[] = [];
  private head = 0;
  /** Settled entries still held between the head and the tail. */
  private settledInside = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** One of its entries settled. */
  settledOne(): void {
    this.settledInside++;
    this.dropSettled();
    const live = this.items.length - this.head;
    if (this.settledInside > 64 && this.settledInside * 2 > live) this.sweep();
  }

  /** Keeps only unsettled entries, in order. */
  private sweep(): void {
    const kept: Deadline[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i] as Deadline;
      if (!entry.settled) kept.push(entry);
    }
    this.items = kept;
    this.head = 0;
    this.settledInside = 0;
  }

  push(entry: Deadline): void {
    this.items.push(entry);
  }

  peek(): Deadline | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.items[this.head++] = undefined as unknown as Deadline;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes settled entries from the head. */
  dropSettled(): void {
    for (let head = this.peek(); head?.settled; head = this.peek()) {
      this.shift();
      if (this.settledInside > 0) this.settledInside--;
    }
  }
}
