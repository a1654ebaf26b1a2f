import { type ActorFailed, type ActorRef, ActorSystem, supervisor } from '@troupe/runtime';
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
