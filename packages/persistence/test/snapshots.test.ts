/**
 * Event-sourced snapshots: recovery picks the newest snapshot its criteria select, falls back to
 * an older one (then to the events) when one cannot be read, and retention keeps the N newest,
 * deleting the events the oldest kept one covers when asked.
 */
import { logSink } from '@troupe/runtime/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { type EventSourcedOptions, memoryStore, type PersistenceStore, RecoveryError } from '../src/index.js';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  account,
  balanceOf,
  deposit,
} from './support/account.js';
import { ControlledStore } from './support/store-wrappers.js';
import { startSystem } from './support/systems.js';

type AccountOptions = EventSourcedOptions<AccountCommand, AccountEvent, AccountState>;

const deposited = (amount: number) => JSON.stringify({ type: 'deposited', amount });
const state = (balance: number, history: number): string => JSON.stringify({ balance, history });

/** A journal of `n` deposits of 1 for `pid`, written directly. */
async function journal(store: PersistenceStore, pid: string, n: number): Promise<void> {
  await store.write([
    {
      kind: 'events',
      persistenceId: pid,
      expectedSeq: 0,
      events: Array.from({ length: n }, () => ({ payload: deposited(1) })),
    },
  ]);
}

/** The sequence numbers of every stored snapshot of `pid`, ascending. */
async function snapshotSeqs(store: PersistenceStore, pid: string): Promise<number[]> {
  const seqs: number[] = [];
  let below = Number.POSITIVE_INFINITY;
  for (;;) {
    const snapshot = await store.loadSnapshot(pid, { maxSequenceNr: below });
    if (snapshot === undefined) return seqs;
    seqs.unshift(snapshot.seq);
    below = snapshot.seq - 1;
  }
}

describe('snapshot recovery', () => {
  it('a snapshot that cannot be read falls back to the next older one and replays the events after it', async () => {
    const inner = memoryStore();
    await journal(inner, 'acct-1', 30);
    await inner.saveSnapshot('acct-1', { seq: 10, payload: state(10, 10) });
    await inner.saveSnapshot('acct-1', { seq: 20, payload: state(20, 20) });
    await inner.saveSnapshot('acct-1', { seq: 25, payload: '{"balance": 25, "hist' }); // truncated
    const store = new ControlledStore(inner);
    const { logger, lines } = logSink('warn');
    const { system, failures } = startSystem('fallback', { logger });
    const ref = system.spawn(account('acct-1', store));
    expect(await balanceOf(ref)).toBe(30);
    expect(failures).toEqual([]);
    // Newest first, then below the broken one; the events after the one used.
    expect(store.snapshotLoads).toEqual([{}, { maxSequenceNr: 24 }]);
    expect(store.eventReads).toEqual([{ persistenceId: 'acct-1', fromSeq: 21 }]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        persistenceId: 'acct-1',
        seq: 25,
        msg: 'snapshot cannot be read: recovering from an older one, or from the events',
      }),
    );
    expect(await deposit(ref, 1)).toBe(31);
  });

  it('when no snapshot can be read it replays every event from the first', async () => {
    const inner = memoryStore();
    await journal(inner, 'acct-1', 12);
    for (const seq of [4, 8, 12]) await inner.saveSnapshot('acct-1', { seq, payload: 'not json' });
    const store = new ControlledStore(inner);
    const { system } = startSystem('all-broken');
    expect(await balanceOf(system.spawn(account('acct-1', store)))).toBe(12);
    expect(store.snapshotLoads).toEqual([
      {},
      { maxSequenceNr: 11 },
      { maxSequenceNr: 7 },
      { maxSequenceNr: 3 },
    ]);
    expect(store.eventReads).toEqual([{ persistenceId: 'acct-1', fromSeq: 1 }]);
  });

  it('fromSnapshot upgrades an old snapshot shape, and a throw in it counts as unreadable', async () => {
    const inner = memoryStore();
    await journal(inner, 'acct-1', 9);
    await inner.saveSnapshot('acct-1', { seq: 3, payload: '{"cents":300}' }); // an old shape
    await inner.saveSnapshot('acct-1', { seq: 6, payload: '{"shape":"unknown"}' });
    const { system } = startSystem('upgrade');
    const seen: number[] = [];
    const ref = system.spawn(
      account('acct-1', inner, {
        fromSnapshot: (stored, { seq }) => {
          seen.push(seq);
          const old = stored as { cents?: number };
          if (old.cents === undefined) throw new TypeError('not a snapshot this code knows');
          return { balance: old.cents / 100, history: seq } satisfies AccountState;
        },
      }),
    );
    expect(await balanceOf(ref)).toBe(9);
    expect(seen).toEqual([6, 3]);
  });

  it('recovery criteria choose the snapshot by sequence number or timestamp; "none" replays everything', async () => {
    const inner = memoryStore();
    await journal(inner, 'acct-1', 30);
    // Deliberately different from a replay, to see which one recovery used.
    await inner.saveSnapshot('acct-1', { seq: 10, timestamp: 1_000, payload: state(1000, 10) });
    await inner.saveSnapshot('acct-1', { seq: 20, timestamp: 2_000, payload: state(2000, 20) });
    const { system } = startSystem('criteria');
    const recoverWith = async (name: string, snapshot: AccountOptions['recovery']) => {
      const store = new ControlledStore(inner);
      const ref = system.spawn(
        account('acct-1', store, snapshot === undefined ? {} : { recovery: snapshot }),
        {
          name,
        },
      );
      return { balance: await balanceOf(ref), reads: store.eventReads.map((r) => r.fromSeq) };
    };
    expect(await recoverWith('latest', undefined)).toEqual({ balance: 2010, reads: [21] });
    expect(await recoverWith('by-seq', { snapshot: { maxSequenceNr: 19 } })).toEqual({
      balance: 1020,
      reads: [11],
    });
    expect(await recoverWith('by-time', { snapshot: { maxTimestamp: 1_999 } })).toEqual({
      balance: 1020,
      reads: [11],
    });
    expect(await recoverWith('too-early', { snapshot: { maxTimestamp: 999 } })).toEqual({
      balance: 30,
      reads: [1],
    });
    expect(await recoverWith('none', { snapshot: 'none' })).toEqual({ balance: 30, reads: [1] });
  });

  it('a snapshot beyond the highest sequence number is a RecoveryError, not a state that cannot write', async () => {
    const store = memoryStore();
    await journal(store, 'acct-1', 3);
    await store.saveSnapshot('acct-1', { seq: 7, payload: state(7, 7) });
    const { system, failures } = startSystem('beyond');
    system.spawn(account('acct-1', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    expect(failures[0]?.error).toBeInstanceOf(RecoveryError);
    expect(failures[0]?.error).toMatchObject({ persistenceId: 'acct-1', seq: 7 });
    expect(String(failures[0]?.error)).toMatch(/beyond the journal/);
  });
});

describe('snapshot retention', () => {
  it('keeps the N newest snapshots, also across incarnations', async () => {
    const store = memoryStore();
    const first = startSystem('first').system;
    const ref = first.spawn(account('acct-1', store, { snapshotEvery: 5, keepSnapshots: 3 }));
    for (let i = 0; i < 40; i++) await deposit(ref, 1);
    await waitFor(
      async () => (await snapshotSeqs(store, 'acct-1')).join() === '30,35,40',
      'snapshots 30, 35, 40',
    );
    await first.shutdown();
    // A new incarnation does not know the older snapshots: its first save looks them up.
    const second = startSystem('second').system;
    const again = second.spawn(account('acct-1', store, { snapshotEvery: 5, keepSnapshots: 3 }));
    for (let i = 0; i < 10; i++) await deposit(again, 1);
    await waitFor(
      async () => (await snapshotSeqs(store, 'acct-1')).join() === '40,45,50',
      'snapshots 40, 45, 50',
    );
    expect((await store.readEvents('acct-1', 1, 100)).length).toBe(50); // events kept by default
  });

  it('keeps two snapshots by default', async () => {
    const store = memoryStore();
    const ref = startSystem('default').system.spawn(account('acct-1', store, { snapshotEvery: 2 }));
    for (let i = 0; i < 10; i++) await deposit(ref, 1);
    await waitFor(async () => (await snapshotSeqs(store, 'acct-1')).join() === '8,10', 'snapshots 8 and 10');
  });

  it('deletes the events up to the oldest kept snapshot, so the newest can still fall back to it', async () => {
    const store = memoryStore();
    const first = startSystem('first').system;
    const ref = first.spawn(
      account('acct-1', store, { snapshotEvery: 10, keepSnapshots: 2, deleteEventsOnSnapshot: true }),
    );
    for (let i = 0; i < 45; i++) await deposit(ref, 1);
    await waitFor(
      async () => (await store.readEvents('acct-1', 1, 100))[0]?.seq === 31,
      'events up to 30 deleted',
    );
    expect(await snapshotSeqs(store, 'acct-1')).toEqual([30, 40]);
    await first.shutdown();
    // The newest snapshot is damaged: recovery falls back to 30, whose later events are there.
    await store.saveSnapshot('acct-1', { seq: 40, payload: '\u0000garbage' });
    const second = startSystem('second').system;
    expect(await balanceOf(second.spawn(account('acct-1', store)))).toBe(45);
  });

  it('when every kept snapshot is unreadable and the events are gone, recovery fails with a RecoveryError that says so', async () => {
    const store = memoryStore();
    await journal(store, 'acct-1', 20);
    await store.saveSnapshot('acct-1', { seq: 10, payload: 'broken' });
    await store.saveSnapshot('acct-1', { seq: 20, payload: 'broken' });
    await store.deleteEvents('acct-1', 10);
    const { system, failures } = startSystem('lost');
    system.spawn(account('acct-1', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    const error = failures[0]?.error as RecoveryError;
    expect(error).toBeInstanceOf(RecoveryError);
    expect(error).toMatchObject({ persistenceId: 'acct-1', seq: 1 });
    expect(error.message).toMatch(
      /events 1\.\.10 are missing .* \(the snapshots at 20, 10 could not be read\)/,
    );
  });

  it('a store failing while snapshotting is logged, never a failure; the next snapshot catches up', async () => {
    const store = new ControlledStore(memoryStore());
    const { logger, lines } = logSink('warn');
    const { system, failures } = startSystem('flaky', { logger });
    const ref = system.spawn(account('acct-1', store, { snapshotEvery: 5, keepSnapshots: 1 }));
    store.fail('saveSnapshot', new Error('disk hiccup'), 1);
    store.fail('deleteSnapshots', new Error('disk hiccup'), 1);
    for (let i = 0; i < 20; i++) await deposit(ref, 1);
    await waitFor(
      async () => (await snapshotSeqs(store.inner, 'acct-1')).join() === '20',
      'only snapshot 20 kept',
    );
    expect(failures).toEqual([]);
    expect(lines.filter((l) => l.msg === 'snapshot failed; retried at the next interval')).toHaveLength(2);
  });

  it('retention holds for any interval, number kept and restarts in between (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
        async (every, keep, runs) => {
          const store = memoryStore();
          let total = 0;
          for (const [i, n] of runs.entries()) {
            const { system } = startSystem(`run-${i}`);
            const ref = system.spawn(account('p', store, { snapshotEvery: every, keepSnapshots: keep }));
            for (let k = 0; k < n; k++) await deposit(ref, 1);
            total += n;
            // Each command is one event, so snapshots fall on the multiples of `every`.
            const multiples = Array.from({ length: Math.floor(total / every) }, (_, k) => (k + 1) * every);
            const expected = multiples.slice(-keep).join();
            await waitFor(
              async () => (await snapshotSeqs(store, 'p')).join() === expected,
              `snapshots ${expected}`,
            );
            await system.shutdown();
          }
          const { system } = startSystem('check');
          expect(await balanceOf(system.spawn(account('p', store)))).toBe(total);
        },
      ),
      { numRuns: 15 },
    );
  });
});
