/**
 * Recovery failures: an event handler that throws while replaying, or an event that cannot be
 * decoded, is a RecoveryError naming the persistence id and sequence number, with its cause; it
 * reaches the supervisor as a failed start, and nothing is written after it. A store that fails
 * while recovering is not a RecoveryError: its own error fails the start, and a restart retries.
 */
import { type ActorRef, type ActorSystem, supervisor } from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import {
  DecodeError,
  Effect,
  eventSourced,
  memoryStore,
  type PersistenceStore,
  RecoveryError,
  StoreUnavailableError,
} from '../src/index.js';
import { type AccountCommand, account, balanceOf } from './support/account.js';
import { ControlledStore } from './support/store-wrappers.js';
import { startSystem } from './support/systems.js';

const deposited = (amount: number) => JSON.stringify({ type: 'deposited', amount });

/** A counter whose event handler throws on a negative amount: the poison. */
const counter = (pid: string, store: PersistenceStore, snapshotEvery?: number) =>
  eventSourced<AccountCommand, { type: 'deposited'; amount: number }, number>({
    persistenceId: pid,
    store,
    emptyState: 0,
    commandHandler: (balance, cmd) => {
      if (cmd.type === 'balance') return Effect.none(() => cmd.replyTo.tell({ type: 'balance', balance }));
      if (cmd.type === 'deposit')
        return Effect.persist({ type: 'deposited', amount: cmd.amount }, (next) =>
          cmd.replyTo?.tell({ type: 'balance', balance: next }),
        );
      return Effect.unhandled();
    },
    eventHandler: (balance, event) => {
      if (event.amount < 0) throw new RangeError(`negative amount ${event.amount}`);
      return balance + event.amount;
    },
    ...(snapshotEvery === undefined ? {} : { snapshotEvery }),
  });

const supervised = (system: ActorSystem, behavior: ReturnType<typeof counter>, maxRestarts: number) => {
  system.spawn(
    supervisor({
      strategy: 'oneForOne',
      intensity: { maxRestarts, withinMs: 60_000 },
      children: [{ id: 'c', behavior }],
    }),
    { name: 'sup' },
  );
  return system.lookup('/user/sup/c') as ActorRef<AccountCommand>;
};

describe('recovery failures', () => {
  it('an event handler that throws on a stored event: RecoveryError to the supervisor, and nothing written after it', async () => {
    const store = new ControlledStore(memoryStore());
    await store.inner.write([
      {
        kind: 'events',
        persistenceId: 'poison',
        expectedSeq: 0,
        events: [deposited(5), deposited(7), deposited(-1), deposited(2)].map((payload) => ({ payload })),
      },
    ]);
    const { system, failures, deadLetters } = startSystem('poison');
    const escalated: unknown[] = [];
    system.events.subscribe((e) => {
      if (e.type === 'SupervisorEscalated') escalated.push(e);
    });
    const release = store.holdReads();
    const ref = supervised(system, counter('poison', store, 1), 2);
    // Commands that would write, queued while it recovers: none of them may be handled.
    for (let i = 0; i < 5; i++) ref.tell({ type: 'deposit', amount: 1 });
    release();
    await waitFor(() => escalated.length === 1, 'the supervisor to give up');
    const starts = failures.filter((f) => f.phase === 'start' && f.path === ref.path);
    expect(starts).toHaveLength(3); // the start and two restarts
    for (const { error } of starts) {
      expect(error).toBeInstanceOf(RecoveryError);
      expect(error).toMatchObject({ persistenceId: 'poison', seq: 3, name: 'RecoveryError' });
      expect((error as RecoveryError).cause).toBeInstanceOf(RangeError);
    }
    expect(store.batches).toEqual([]);
    expect(store.snapshotSaves).toEqual([]);
    expect(store.snapshotDeletes).toEqual([]);
    expect(store.eventDeletes).toEqual([]);
    expect(await store.inner.highestSeq('poison')).toBe(4);
    // The queued commands were never processed: they end as dead letters when the actor stops.
    await waitFor(() => deadLetters.length === 5, 'the five queued commands as dead letters');
    expect(deadLetters.every((d) => d.recipient === ref.path && d.reason !== 'failed')).toBe(true);
  });

  it('an event that cannot be decoded, after a snapshot: RecoveryError at its sequence number, caused by a DecodeError', async () => {
    const store = memoryStore();
    await store.write([
      {
        kind: 'events',
        persistenceId: 'p',
        expectedSeq: 0,
        events: [deposited(1), deposited(1), deposited(1), '{"type":"depos', deposited(1)].map((payload) => ({
          payload,
        })),
      },
    ]);
    await store.saveSnapshot('p', { seq: 2, payload: '2' });
    const { system, failures } = startSystem('decode');
    system.spawn(counter('p', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    const error = failures[0]?.error as RecoveryError;
    expect(error).toBeInstanceOf(RecoveryError);
    expect(error).toMatchObject({ persistenceId: 'p', seq: 4 });
    expect(error.cause).toBeInstanceOf(DecodeError);
    expect(error.message).toMatch(/^p: event 4 cannot be decoded: /);
  });

  it('names exactly the poisoned event, or recovers when a snapshot covers it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        fc.constantFrom('handler', 'decode'),
        async (length, poisonAt, snapshotAt, kind) => {
          const n = Math.max(length, poisonAt, snapshotAt ?? 0);
          const store = memoryStore();
          const poison = kind === 'handler' ? deposited(-1) : '{broken';
          await store.write([
            {
              kind: 'events',
              persistenceId: 'p',
              expectedSeq: 0,
              events: Array.from({ length: n }, (_, i) => ({
                payload: i + 1 === poisonAt ? poison : deposited(1),
              })),
            },
          ]);
          // A snapshot at or after the poison covers it: recovery never replays that event.
          if (snapshotAt !== undefined)
            await store.saveSnapshot('p', { seq: snapshotAt, payload: String(snapshotAt) });
          const { system, failures } = startSystem('prop');
          const ref = system.spawn(counter('p', store));
          if (snapshotAt !== undefined && snapshotAt >= poisonAt) {
            expect(await balanceOf(ref)).toBe(n);
            expect(failures).toEqual([]);
          } else {
            await waitFor(() => failures.length === 1, 'the failed start');
            const error = failures[0]?.error as RecoveryError;
            expect(error).toBeInstanceOf(RecoveryError);
            expect(error).toMatchObject({ persistenceId: 'p', seq: poisonAt });
            expect(error.cause).toBeInstanceOf(kind === 'handler' ? RangeError : DecodeError);
          }
          await system.shutdown();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a store that fails while recovering fails the start with its own error; the restart recovers', async () => {
    const store = new ControlledStore(memoryStore());
    await store.inner.write([
      { kind: 'events', persistenceId: 'acct-1', expectedSeq: 0, events: [{ payload: deposited(10) }] },
    ]);
    const lost = new StoreUnavailableError('controlled', 'connection', false, {
      cause: new Error('ECONNRESET'),
    });
    store.fail('readEvents', lost, 1);
    store.fail('loadSnapshot', lost, 1);
    const { system, failures } = startSystem('flaky');
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [{ id: 'a', behavior: account('acct-1', store) }],
      }),
      { name: 'sup' },
    );
    const ref = system.lookup('/user/sup/a') as ActorRef<AccountCommand>;
    expect(await balanceOf(ref)).toBe(10);
    expect(failures.map((f) => [f.phase, f.error])).toEqual([
      ['start', lost],
      ['start', lost],
    ]);
  });
});
