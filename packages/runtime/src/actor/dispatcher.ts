/**
 * The one run queue of ready actors (Akka's dispatcher). `tell` marks an idle actor ready; the
 * dispatcher drains ready actors in a microtask, each handling up to its own `throughput`
 * messages per turn before going to the back of the queue. After `turnBudget` messages in one
 * drain it yields to the event loop (`setImmediate`), so a flooded actor never starves timers
 * or I/O.
 *
 * **Nothing stops the dispatcher.** Whatever escapes an actor's `run()` (user code the cell did
 * not catch itself) is handed to that actor's `crashed`, which fails it; the drain goes on with
 * the next actor. One actor's bug never freezes the others.
 *
 * @internal Not exported from the package.
 */
export interface Runnable {
  /** Whether it is in the run queue now. */
  scheduled: boolean;
  /** Handles up to its throughput of messages; returns how many. Reschedules itself if work remains. */
  run(): number;
  /** `run()` threw: whatever escaped is a failure of this actor. Must not throw. */
  crashed(error: unknown): void;
}

export class Dispatcher {
  private readonly queue: Runnable[] = [];
  private head = 0;
  private pending = false;
  private readonly drainNow = () => this.drain();

  constructor(private readonly turnBudget = 4096) {}

  schedule(actor: Runnable): void {
    actor.scheduled = true;
    this.queue.push(actor);
    if (!this.pending) {
      this.pending = true;
      queueMicrotask(this.drainNow);
    }
  }

  /** Whether nothing is ready to run. */
  get idle(): boolean {
    return !this.pending;
  }

  private drain(): void {
    const queue = this.queue;
    let budget = this.turnBudget;
    while (this.head < queue.length) {
      const actor = queue[this.head++] as Runnable;
      actor.scheduled = false;
      try {
        budget -= actor.run();
      } catch (error) {
        crash(actor, error);
      }
      if (budget <= 0 && this.head < queue.length) {
        queue.splice(0, this.head);
        this.head = 0;
        setImmediate(this.drainNow);
        return;
      }
    }
    queue.length = 0;
    this.head = 0;
    this.pending = false;
  }
}

function crash(actor: Runnable, error: unknown): void {
  try {
    actor.crashed(error);
  } catch {
    // crashed() must not throw; if a broken logger makes it, the dispatcher still goes on.
  }
}
