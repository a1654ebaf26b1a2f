/**
 * Shutdown under load, on a `VirtualClock`.
 *
 * Producers `await ref.send(m)` into full mailboxes, a teller `tell`s on every tick, and then
 * `system.shutdown()` is called. Per the `ActorSystem.shutdown` contract, every message ends in
 * exactly one place, and each place is accounted for by its own rule:
 * - **processed** by the last stage;
 * - dead letter **`shutdown`**: it had been queued (a send resolved, a tell was accepted) and
 *   was still queued, or still being handled, when its actor was stopped hard after
 *   `shutdownMs`;
 * - dead letter **`stopped`**: offered to an actor that had already begun stopping (refused
 *   while draining: a tell, or a stage's `ctx.send` to a stopped next stage);
 * - dead letter **`mailboxFull`**: a tell to a full mailbox before shutdown;
 * - **rejected** with `ActorStoppedError`: a send still waiting for room when shutdown began,
 *   or made after (the producer keeps the message; no dead letter).
 * No producer hangs, and `shutdown()` resolves within its timeout, at a time we can state.
 */
import { type ActorRef, ActorStoppedError, ActorSystem, receive } from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { size, timeLimit } from './support/soak.js';
import { runFor, sleep } from './support/time.js';

type Job = { readonly type: 'job'; readonly id: number };
type Outcome = 'processed' | 'rejected' | `dead:${string}`;

let clock: VirtualClock;
let system: ActorSystem;
/** Each message's outcome, by id; a second outcome for the same id is recorded in `twice`. */
let outcomes: Map<number, Outcome>;
let twice: string[];
/** Whether `shutdown()` has been called; and, for each dead letter, whether it came after. */
let shutdownCalled: boolean;
let deadAfterShutdown: Map<number, boolean>;

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'shutdown-under-load', clock });
  outcomes = new Map();
  twice = [];
  shutdownCalled = false;
  deadAfterShutdown = new Map();
  system.events.subscribe((e) => {
    if (e.type !== 'DeadLetter') return;
    const id = (e.message as Job).id;
    settleOutcome(id, `dead:${e.reason}`);
    deadAfterShutdown.set(id, shutdownCalled);
  });
});

afterEach(async () => {
  await system.shutdown();
});

function settleOutcome(id: number, outcome: Outcome): void {
  const earlier = outcomes.get(id);
  if (earlier !== undefined) twice.push(`${id}: ${earlier} then ${outcome}`);
  else outcomes.set(id, outcome);
}

function tally(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes.values()) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** What producers saw: sends that resolved, sends rejected (and when), rejections of the wrong type. */
function newLog() {
  return {
    accepted: new Set<number>(),
    rejectedAfterShutdown: new Map<number, boolean>(),
    untyped: [] as unknown[],
  };
}

/** A producer that `await`s each send; a rejection must be `ActorStoppedError`, and it goes on. */
function producer(
  target: ActorRef<Job>,
  ids: readonly number[],
  log: ReturnType<typeof newLog>,
): Promise<void> {
  return (async () => {
    for (const id of ids) {
      try {
        await target.send({ type: 'job', id });
        log.accepted.add(id);
      } catch (error) {
        if (!(error instanceof ActorStoppedError)) log.untyped.push(error);
        log.rejectedAfterShutdown.set(id, shutdownCalled);
        settleOutcome(id, 'rejected');
      }
    }
  })();
}

describe('shutdown under load (virtual time)', () => {
  it('a stuck actor: blocked producers are released, what it held becomes shutdown dead letters, shutdown resolves exactly at its timeout', async () => {
    const never = new Promise<void>(() => {});
    const stuck = system.spawn(
      receive<null, Job>(null, async (s) => {
        await never; // the first job never finishes
        return s;
      }),
      { name: 'stuck', mailbox: { capacity: 4 }, shutdownMs: 5_000 },
    );
    const log = newLog();
    const producers = [0, 1, 2].map((p) =>
      producer(
        stuck,
        Array.from({ length: 5 }, (_, i) => p * 5 + i),
        log,
      ),
    );
    let finished = 0;
    for (const p of producers) void p.then(() => finished++);
    await settle(system);
    // One job in the handler, four queued, and each producer blocked on its next send.
    expect(log.accepted.size).toBe(5);
    expect(system.inspect(stuck)).toMatchObject({ received: 5, mailboxDepth: 4 });

    const t0 = clock.now();
    let resolvedAt: number | null = null;
    shutdownCalled = true;
    const done = system.shutdown({ timeoutMs: 100 }).then(() => {
      resolvedAt = clock.now();
    });
    await settle(system);
    // Every blocked producer was released with ActorStoppedError, and the rest of their sends
    // were refused the same way: no producer hangs.
    expect(finished).toBe(3);
    expect(log.untyped).toEqual([]);
    expect(log.rejectedAfterShutdown.size).toBe(10);
    stuck.tell({ type: 'job', id: 99 }); // refused while draining
    expect(outcomes.get(99)).toBe('dead:stopped');

    await runFor(system, clock, 99);
    expect(resolvedAt).toBeNull(); // still draining: the stuck job holds it
    clock.advance(1);
    await done;
    expect(resolvedAt).toBe(t0 + 100);

    // The four queued jobs and the one in the handler: shutdown dead letters.
    for (const id of log.accepted) expect(outcomes.get(id), `job ${id}`).toBe('dead:shutdown');
    expect(tally()).toEqual({ 'dead:shutdown': 5, rejected: 10, 'dead:stopped': 1 });
    expect(twice).toEqual([]);
    expect(system.deadLetters).toBe(6);
  });

  it(
    'a loaded pipeline: every message is processed, rejected, or a dead letter whose reason matches where it was; no producer hangs',
    async () => {
      const PRODUCERS = 4;
      const PER_PRODUCER = size(100, 5_000);
      const stage = { sinkMs: 5, workerMs: 2, capacity: 4, shutdownMs: 12 };

      // Spawned sink first, so shutdown (reverse start order) stops the worker first and the
      // sink last: the worker drains into a sink that still runs.
      // `alive` is per incarnation: a handler abandoned by a hard stop (its job is then a
      // shutdown dead letter) must not also count its job as processed when its sleep ends.
      const sink = system.spawn(
        receive<{ alive: boolean }, Job>(
          { alive: true },
          async (s, m) => {
            await sleep(clock, stage.sinkMs);
            if (s.alive) settleOutcome(m.id, 'processed');
            return s;
          },
          {
            onStart: () => ({ alive: true }),
            onStop: (s) => {
              s.alive = false;
            },
          },
        ),
        { name: 'sink', mailbox: { capacity: stage.capacity }, shutdownMs: stage.shutdownMs },
      );
      const worker = system.spawn(
        receive<null, Job>(null, async (s, m, ctx) => {
          await sleep(clock, stage.workerMs);
          ctx.send(sink, m);
          return s;
        }),
        { name: 'worker', mailbox: { capacity: stage.capacity }, shutdownMs: stage.shutdownMs },
      );

      const log = newLog();
      let finished = 0;
      for (let p = 0; p < PRODUCERS; p++) {
        const ids = Array.from({ length: PER_PRODUCER }, (_, i) => p * PER_PRODUCER + i);
        void producer(worker, ids, log).then(() => finished++);
      }
      // A teller offers one message per tick, whatever the state of the worker's mailbox.
      let nextTold = PRODUCERS * PER_PRODUCER;
      const told = new Set<number>();
      const tell = () => {
        const id = nextTold++;
        told.add(id);
        worker.tell({ type: 'job', id });
        if (!outcomes.has(id)) log.accepted.add(id); // not refused at the door
      };

      // Load: run long enough that the pipeline is saturated and producers are blocked.
      await runFor(system, clock, 40, 1, tell);
      const t0 = clock.now();
      const pendingAtShutdown = [...Array(PRODUCERS * PER_PRODUCER).keys()].filter(
        (id) => !log.accepted.has(id) && !outcomes.has(id),
      );
      expect(pendingAtShutdown.length).toBeGreaterThan(PRODUCERS - 1); // each producer is mid-send

      let resolvedAt: number | null = null;
      shutdownCalled = true;
      void system.shutdown({ timeoutMs: 1_000 }).then(() => {
        resolvedAt = clock.now();
      });
      for (let t = 0; t < 1_000 && resolvedAt === null; t++) await runFor(system, clock, 1, 1, tell);

      // shutdown resolved: the worker drained for at most its shutdownMs, then the sink for
      // at most its own, one after the other — well inside the 1000 ms timeout.
      expect(resolvedAt).not.toBeNull();
      expect((resolvedAt as unknown as number) - t0).toBeLessThanOrEqual(2 * stage.shutdownMs);
      await settle(system);
      expect(finished).toBe(PRODUCERS); // no producer hangs
      expect(log.untyped).toEqual([]);

      // Exactly one outcome per message, for every message offered.
      expect(twice).toEqual([]);
      expect(outcomes.size).toBe(nextTold);
      const counts = tally();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(nextTold);
      // The scenario exercises every outcome.
      for (const outcome of ['processed', 'rejected', 'dead:shutdown', 'dead:stopped', 'dead:mailboxFull']) {
        expect(counts[outcome], outcome).toBeGreaterThan(0);
      }
      expect(Object.keys(counts).sort()).toEqual(
        ['dead:mailboxFull', 'dead:shutdown', 'dead:stopped', 'processed', 'rejected'].sort(),
      );

      // Each reason where, and only where, the contract puts it.
      for (const [id, outcome] of outcomes) {
        const afterShutdown = deadAfterShutdown.get(id);
        switch (outcome) {
          case 'rejected': // a send waiting at shutdown, or made after it began
            expect(log.rejectedAfterShutdown.get(id), `job ${id}`).toBe(true);
            break;
          case 'dead:shutdown': // it had been queued, and was still there when stopped hard
            expect(log.accepted.has(id), `job ${id}`).toBe(true);
            expect(afterShutdown, `job ${id}`).toBe(true);
            break;
          case 'dead:stopped': // refused while draining: a tell, or a forward to a stopped sink
            expect(afterShutdown, `job ${id}`).toBe(true);
            break;
          case 'dead:mailboxFull': // a tell to a full mailbox, before shutdown
            expect(told.has(id), `job ${id}`).toBe(true);
            expect(afterShutdown, `job ${id}`).toBe(false);
            break;
          default:
            expect(outcome).toBe('processed');
        }
      }
      for (const id of pendingAtShutdown) expect(outcomes.get(id), `job ${id}`).toBe('rejected');
      expect(system.deadLetters).toBe(nextTold - (counts.processed ?? 0) - (counts.rejected ?? 0));
      for (const ref of [worker, sink]) expect(system.inspect(ref)?.status).toBe('stopped');
      // No runtime timer is left; only the sleeps of handlers abandoned by a hard stop, which
      // are the handlers' own (and whose late completion changes nothing).
      clock.advance(stage.sinkMs);
      await settle(system);
      expect(clock.pending).toBe(0);
      expect(twice).toEqual([]);
      expect(tally()).toEqual(counts);
    },
    timeLimit(30_000, 300_000),
  );
});
