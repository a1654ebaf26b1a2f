/**
 * What the actor scenarios (S2, S2m, S3, S4, S5, S6) share: the counter protocol and its XState
 * machine, per-round-trip latency laps, heap measurement, a progress counter and a bounded wait.
 *
 * @module
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { ActorRef } from '@troupe/runtime';
import { assign, setup } from 'xstate';
import { timed } from './scenario.js';

/** A mailbox of 1024, as Troupe's default. */
export const CAPACITY = 1024;

/** The counter's reply. */
export interface Count {
  readonly type: 'count';
  readonly n: number;
}

/** The counter protocol: count `inc`s, answer `get` with the count so far. */
export type CounterMsg =
  | { readonly type: 'inc' }
  | { readonly type: 'get'; readonly replyTo: ActorRef<Count> };

/** The one `inc` message every system sends (shared, so no system pays for allocating it). */
export const INC = { type: 'inc' } as const;

/**
 * The counting machine of S2 and S2m: `inc` counts with `assign`; `get` runs the `reply`
 * action, a no-op here that Troupe's `fromMachine` factory provides with `ctx.reply`.
 */
export const counterMachine = setup({
  types: {
    context: {} as { count: number },
    events: {} as CounterMsg,
  },
  actions: {
    reply: () => {},
  },
}).createMachine({
  id: 'counter',
  context: { count: 0 },
  on: {
    inc: { actions: assign({ count: ({ context }) => context.count + 1 }) },
    get: { actions: 'reply' },
  },
});

/** Throws unless `got` is `expected`: the check every counting workload ends with. */
/**
 * The lossless fastest producer the runtime documents, then an ask for the count: the timed
 * part of S2 and S2m (the same work whatever the counter's behaviour form). Returns seconds.
 */
export async function driveCounter(counter: ActorRef<CounterMsg>, n: number): Promise<number> {
  const { result, seconds } = await timed(async () => {
    for (let i = 0; i < n; i++) {
      if (!counter.trySend(INC).ok) await counter.send(INC);
    }
    const reply = await counter.ask<Count>((replyTo) => ({ type: 'get', replyTo }));
    return reply.n;
  });
  expectCount(result, n, 'troupe');
  return seconds;
}

export function expectCount(got: number, expected: number, who: string): void {
  if (got !== expected) throw new Error(`${who}: counted ${got} messages, expected ${expected}`);
}

/**
 * Per-round-trip latencies of a sequential loop: `start()` once, then `lap()` after each round
 * trip records the time since the previous lap (one `process.hrtime.bigint()` per round trip).
 */
export class Laps {
  readonly ns: Float64Array;
  count = 0;
  private prev = 0n;

  constructor(n: number) {
    this.ns = new Float64Array(n);
  }

  start(): void {
    this.prev = process.hrtime.bigint();
  }

  lap(): void {
    const now = process.hrtime.bigint();
    this.ns[this.count++] = Number(now - this.prev);
    this.prev = now;
  }

  /** The `p`-th percentile (0 < p ≤ 100) of the recorded laps, in µs (nearest rank). */
  percentileMicros(p: number): number {
    if (this.count === 0) throw new RangeError('no laps recorded');
    const sorted = this.ns.slice(0, this.count).sort();
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    return (sorted[rank - 1] ?? Number.NaN) / 1000;
  }
}

/** `heapUsed` after two full collections (needs `node --expose-gc`, which the harness passes). */
export function settledHeap(): number {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with node --expose-gc: retained bytes need gc()');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * A count a workload bumps as it goes (subscribers finished, actors restarted), with a promise
 * for when it reaches a target: `reached(k)` resolves once `count >= k`. One waiter at a time.
 */
export class Progress {
  count = 0;
  private target = Number.POSITIVE_INFINITY;
  private resolveTarget: (() => void) | null = null;

  bump(): void {
    if (++this.count >= this.target) {
      const resolve = this.resolveTarget as () => void;
      this.target = Number.POSITIVE_INFINITY;
      this.resolveTarget = null;
      resolve();
    }
  }

  reached(target: number): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    if (this.resolveTarget !== null) throw new Error('Progress: one waiter at a time');
    this.target = target;
    return new Promise((resolve) => {
      this.resolveTarget = resolve;
    });
  }
}

/** Yields to the event loop until `done()` holds; throws after `timeoutMs`. */
export async function until(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await nextMacrotask();
  }
}
