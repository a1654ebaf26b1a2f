import {
  type ActorFailed,
  type ActorRef,
  ActorSystem,
  InvalidOptionsError,
  supervisor,
} from '@troupe/runtime';
import { VirtualClock } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import {
  memoryStore,
  type PersistenceStore,
  type ProjectedEvent,
  type ProjectionMessage,
  type ProjectionStatus,
  projection,
} from '../src/index.js';
import { type AccountEvent, account, deposit } from './support/account.js';
import { ControlledStore } from './support/store-wrappers.js';

const systems: ActorSystem[] = [];
const start = (clock?: VirtualClock) => {
  const system = ActorSystem.start(clock === undefined ? { name: 'proj' } : { name: 'proj', clock });
  systems.push(system);
  const failures: ActorFailed[] = [];
  system.events.subscribe((e) => {
    if (e.type === 'ActorFailed') failures.push(e);
  });
  return { system, failures };
};
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ timeoutMs: 200 });
});

const status = async (ref: ActorRef<ProjectionMessage>) =>
  (await ref.ask<ProjectionStatus>((replyTo) => ({ type: 'status', replyTo }), { timeoutMs: 5000 })).offset;

/** A read model: balances by account, built by a projection. */
const balances = (store: PersistenceStore, model: Map<string, number>) =>
  projection<AccountEvent>({
    projectionId: 'balances',
    store,
    persistenceIdPrefix: 'acct-',
    batchSize: 4,
    handler: ({ event, persistenceId }: ProjectedEvent<AccountEvent>) => {
      const delta = event.type === 'deposited' ? event.amount : -event.amount;
      model.set(persistenceId, (model.get(persistenceId) ?? 0) + delta);
    },
  });

describe('projection', () => {
  it('tails the journal in order, filtered by prefix, waking on each commit through the same store', async () => {
    const { system } = start();
    const store = memoryStore();
    const model = new Map<string, number>();
    const tail = system.spawn(balances(store, model));
    const a = system.spawn(account('acct-a', store));
    const b = system.spawn(account('acct-b', store));
    const other = system.spawn(account('other-x', store));
    for (let i = 0; i < 5; i++) {
      await deposit(a, 1);
      await deposit(b, 10);
      await deposit(other, 100);
    }
    await waitFor(
      () => model.get('acct-a') === 5 && model.get('acct-b') === 50,
      'the read model to catch up',
    );
    expect(model.has('other-x')).toBe(false);
    await waitFor(
      async () => (await store.loadCheckpoint('balances')) === 14,
      'the checkpoint (offset of the last acct event)',
    );
    expect(await status(tail)).toBe(14);
  });

  it('resumes from its checkpoint in a new system: no event is handled twice after a clean stop', async () => {
    const store = memoryStore();
    const first = start().system;
    const a = first.spawn(account('acct-a', store));
    for (let i = 0; i < 6; i++) await deposit(a, 1);
    const seenFirst: string[] = [];
    first.spawn(
      projection<AccountEvent>({
        projectionId: 'p',
        store,
        handler: ({ seq }) => {
          seenFirst.push(`a#${seq}`);
        },
      }),
    );
    await waitFor(async () => (await store.loadCheckpoint('p')) === 6, 'checkpoint 6');
    await first.shutdown();
    const second = start().system;
    const again = second.spawn(account('acct-a', store));
    await deposit(again, 1);
    const seenSecond: string[] = [];
    second.spawn(
      projection<AccountEvent>({
        projectionId: 'p',
        store,
        handler: ({ seq }) => {
          seenSecond.push(`a#${seq}`);
        },
      }),
    );
    await waitFor(() => seenSecond.length === 1, 'the new event');
    expect(seenFirst).toEqual(['a#1', 'a#2', 'a#3', 'a#4', 'a#5', 'a#6']);
    expect(seenSecond).toEqual(['a#7']);
  });

  it('a handler that throws fails the projection; the restart redelivers from the checkpoint (at-least-once)', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    const a = system.spawn(account('acct-a', store));
    for (let i = 0; i < 6; i++) await deposit(a, 1);
    const seen: number[] = [];
    let failOnce = true;
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 3, withinMs: 60_000 },
        children: [
          {
            id: 'p',
            behavior: projection<AccountEvent>({
              projectionId: 'p',
              store,
              batchSize: 4,
              handler: ({ seq }) => {
                if (seq === 6 && failOnce) {
                  failOnce = false;
                  throw new Error('read model unavailable');
                }
                seen.push(seq);
              },
            }),
          },
        ],
      }),
    );
    await waitFor(() => seen.includes(6), 'event 6 after the restart');
    expect(failures).toHaveLength(1);
    // Batch 1 (1..4) was checkpointed; 5 was handled, then 6 failed: 5 comes again.
    expect(seen).toEqual([1, 2, 3, 4, 5, 5, 6]);
  });

  it('polls for events other processes write, on the clock', async () => {
    const clock = new VirtualClock();
    const { system } = start(clock);
    const writer = memoryStore();
    // The projection reads the same data through a second store object: it gets no commit
    // notices from the writer, only its polls.
    const reader: PersistenceStore = { ...bind(writer), onAppend: () => () => {} };
    const seen: number[] = [];
    const tail = system.spawn(
      projection<AccountEvent>({
        projectionId: 'p',
        store: reader,
        pollMs: 500,
        handler: ({ seq }) => void seen.push(seq),
      }),
    );
    expect(await status(tail)).toBe(0);
    await writer.write([{ kind: 'events', persistenceId: 'x', expectedSeq: 0, events: [{ payload: '{}' }] }]);
    expect(await status(tail)).toBe(0);
    expect(seen).toEqual([]);
    clock.advance(500);
    await waitFor(() => seen.length === 1, 'the poll');
    expect(await status(tail)).toBe(1);
  });

  it('filters by tag', async () => {
    const { system } = start();
    const store = memoryStore();
    const tagged = system.spawn(
      account('acct-a', store, {
        tagger: (e) => (e.type === 'deposited' && e.amount >= 100 ? ['large'] : []),
      }),
    );
    for (const amount of [1, 100, 5, 250]) await deposit(tagged, amount);
    const seen: number[] = [];
    system.spawn(
      projection<AccountEvent>({
        projectionId: 'large',
        store,
        tag: 'large',
        handler: ({ event }) => void seen.push(event.type === 'deposited' ? event.amount : 0),
      }),
    );
    await waitFor(() => seen.length === 2, 'the two large deposits');
    expect(seen).toEqual([100, 250]);
  });

  it('refuses bad options at the call', () => {
    const store = memoryStore();
    expect(() => projection({ projectionId: '', store, handler: () => {} })).toThrow(TypeError);
    expect(() => projection({ projectionId: 'p', store, batchSize: 0, handler: () => {} })).toThrow(
      RangeError,
    );
    expect(() => projection({ projectionId: 'p', store, pollMs: 0, handler: () => {} })).toThrow(RangeError);
  });
});

describe('projection resources and store failures', () => {
  /** Appends one deposit to `pid` directly (not through an actor). */
  const append = async (store: PersistenceStore, pid: string, n: number) => {
    const seq = await store.highestSeq(pid);
    await store.write([
      {
        kind: 'events',
        persistenceId: pid,
        expectedSeq: seq,
        events: Array.from({ length: n }, () => ({ payload: '{"type":"deposited","amount":1}' })),
      },
    ]);
  };
  /** An idempotent read model: the (pid, seq) pairs seen, and how often each was handed over. */
  const seenBy = (store: PersistenceStore, deliveries: Map<string, number>, batchSize = 3) =>
    projection<AccountEvent>({
      projectionId: 'p',
      store,
      batchSize,
      handler: ({ persistenceId, seq }) => {
        const key = `${persistenceId}#${seq}`;
        deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      },
    });
  const supervised = (system: ActorSystem, behavior: ReturnType<typeof projection>) => {
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 10, withinMs: 60_000 },
        children: [{ id: 'p', behavior }],
      }),
      { name: 'sup' },
    );
    return system.lookup('/user/sup/p') as ActorRef<ProjectionMessage>;
  };

  it('a store that fails at start fails the projection; the restarts leave exactly one listener, and every event is handled', async () => {
    const store = new ControlledStore(memoryStore());
    await append(store.inner, 'acct-a', 5);
    store.fail('loadCheckpoint', new Error('database starting up'), 2);
    const { system, failures } = start();
    const deliveries = new Map<string, number>();
    const ref = supervised(system, seenBy(store, deliveries));
    await waitFor(() => deliveries.size === 5, 'the five events');
    expect(failures.map((f) => [f.phase, String(f.error)])).toEqual([
      ['start', 'Error: database starting up'],
      ['start', 'Error: database starting up'],
    ]);
    expect(store.listeners).toBe(1);
    await append(store.inner, 'acct-a', 2); // through the same store object: the listener wakes it
    await waitFor(() => deliveries.size === 7, 'the two new events');
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    await system.stop(ref);
    expect(store.listeners).toBe(0);
  });

  it('a store whose onAppend throws fails the first poll, not the process; the restart retries it', async () => {
    const store = new ControlledStore(memoryStore());
    await append(store.inner, 'acct-a', 2);
    store.fail('onAppend', new Error('cannot listen'), 1);
    const { system, failures } = start();
    const deliveries = new Map<string, number>();
    supervised(system, seenBy(store, deliveries));
    await waitFor(() => deliveries.size === 2, 'the events after the restart');
    expect(failures.map((f) => [f.phase, String(f.error)])).toEqual([['running', 'Error: cannot listen']]);
    expect(store.listeners).toBe(1);
  });

  it('stopped while its start is still loading the checkpoint, it leaves no listener behind', async () => {
    const store = new ControlledStore(memoryStore());
    await append(store.inner, 'acct-a', 3);
    const release = store.holdCheckpoint();
    const { system } = start();
    const deliveries = new Map<string, number>();
    const ref = system.spawn(seenBy(store, deliveries));
    await waitFor(() => system.inspect(ref)?.status === 'running', 'the start to be under way');
    await system.stop(ref, { timeoutMs: 0 });
    expect(system.inspect(ref)?.status ?? 'stopped').toBe('stopped');
    release(); // the start's load completes after the incarnation is gone
    await new Promise((resolve) => setImmediate(resolve));
    await append(store, 'acct-a', 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.listeners).toBe(0);
    expect(deliveries.size).toBe(0);
    expect(store.checkpointSaves).toEqual([]);
  });

  it('a store failing mid-stream (reading, then saving the checkpoint) restarts it from the checkpoint: at-least-once, one listener', async () => {
    const store = new ControlledStore(memoryStore());
    await append(store.inner, 'acct-a', 4);
    const { system, failures } = start();
    const deliveries = new Map<string, number>();
    supervised(system, seenBy(store, deliveries, 2));
    await waitFor(() => deliveries.size === 4, 'the first four events');
    await waitFor(async () => (await store.inner.loadCheckpoint('p')) === 4, 'checkpoint 4');
    store.fail('readJournal', new Error('connection reset'), 1);
    await append(store, 'acct-a', 3);
    await waitFor(() => deliveries.size === 7, 'the three new events after the restart');
    store.fail('saveCheckpoint', new Error('disk full'), 1);
    await append(store, 'acct-b', 2);
    await waitFor(() => failures.length === 2, 'the second failure');
    await waitFor(async () => (await store.inner.loadCheckpoint('p')) === 9, 'checkpoint 9');
    expect(failures.map((f) => String(f.error))).toEqual(['Error: connection reset', 'Error: disk full']);
    expect(deliveries.size).toBe(9);
    // The batch whose checkpoint failed was handed over again; nothing else was.
    expect([...deliveries.entries()].filter(([, n]) => n > 1).map(([k]) => k)).toEqual([
      'acct-b#1',
      'acct-b#2',
    ]);
    expect(store.listeners).toBe(1);
  });

  it('a poll still in flight when it stops handles no further event and saves no checkpoint', async () => {
    const store = new ControlledStore(memoryStore());
    const { system } = start();
    const deliveries = new Map<string, number>();
    const ref = system.spawn(seenBy(store, deliveries));
    expect(await status(ref)).toBe(0);
    const release = store.holdJournal();
    await append(store, 'acct-a', 3); // wakes it: its poll waits on the held read
    await waitFor(() => system.inspect(ref)?.inFlight === 1, 'the poll in flight');
    await system.stop(ref, { timeoutMs: 0 });
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(deliveries.size).toBe(0);
    expect(store.checkpointSaves).toEqual([]);
    expect(store.listeners).toBe(0);
  });

  it('reports every bad option at once', () => {
    let error: unknown;
    try {
      projection({
        projectionId: 'p',
        store: 'db' as never,
        handler: () => {},
        batchSize: 0,
        pollMs: -1,
        tag: 3 as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).errors.map((e) => e.message)).toEqual([
      'projection(p): store must be a PersistenceStore; got "db"',
      'projection(p): tag must be a string; got 3',
      'projection(p): batchSize must be an integer >= 1; got 0',
      'projection(p): pollMs must be a finite number > 0; got -1',
    ]);
  });
});

/** The store's methods bound to it, as a plain object (to swap one of them). */
function bind(store: PersistenceStore): PersistenceStore {
  return {
    name: store.name,
    write: (w) => store.write(w),
    readEvents: (p, f, l) => store.readEvents(p, f, l),
    highestSeq: (p) => store.highestSeq(p),
    deleteEvents: (p, s) => store.deleteEvents(p, s),
    saveSnapshot: (p, s) => store.saveSnapshot(p, s),
    loadSnapshot: (p, c) => store.loadSnapshot(p, c),
    deleteSnapshots: (p, c) => store.deleteSnapshots(p, c),
    loadState: (p) => store.loadState(p),
    readJournal: (q) => store.readJournal(q),
    loadCheckpoint: (p) => store.loadCheckpoint(p),
    saveCheckpoint: (p, o) => store.saveCheckpoint(p, o),
    onAppend: (l) => store.onAppend(l),
    close: () => store.close(),
  };
}
