import { type ActorRef, type ActorSystem, InvalidOptionsError, supervisor } from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import {
  ConcurrencyError,
  DecodeError,
  Effect,
  eventSourced,
  memoryStore,
  type PersistenceStore,
  RecoveryError,
  StoreUnavailableError,
} from '../src/index.js';
import {
  type AccountCommand,
  type AccountReply,
  type AccountState,
  account,
  applyAccountEvent,
  balanceOf,
  deposit,
} from './support/account.js';
import { ControlledStore } from './support/store-wrappers.js';
import { startSystem } from './support/systems.js';

const start = (name = 'es') => startSystem(name);

/** A supervised account, restarted on any failure. */
const supervised = (system: ActorSystem, pid: string, store: PersistenceStore, maxRestarts = 10) => {
  system.spawn(
    supervisor({
      strategy: 'oneForOne',
      intensity: { maxRestarts, withinMs: 60_000 },
      children: [{ id: 'account', behavior: account(pid, store) }],
    }),
    { name: 'bank' },
  );
  return system.lookup('/user/bank/account') as unknown as import('@troupe/runtime').ActorRef<AccountCommand>;
};

describe('eventSourced', () => {
  it('stores the events before the state changes and before the reply', async () => {
    const { system } = start();
    const store = new ControlledStore(memoryStore());
    const ref = system.spawn(account('acct-1', store));
    const release = store.holdWrites();
    let replied: AccountReply | undefined;
    const pending = ref
      .ask<AccountReply>((replyTo) => ({ type: 'deposit', amount: 10, replyTo }))
      .then((r) => {
        replied = r;
      });
    await waitFor(() => store.batches.length === 1, 'the write to reach the store');
    // The write is held: nothing is committed, so there is no reply yet and no new state.
    expect(await store.inner.highestSeq('acct-1')).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(replied).toBeUndefined();
    release();
    await pending;
    expect(replied).toEqual({ type: 'balance', balance: 10 });
    expect(await store.inner.highestSeq('acct-1')).toBe(1);
  });

  it('recovers its state in a new system (a new process) from the stored events', async () => {
    const store = memoryStore();
    const first = start('first').system;
    const ref = first.spawn(account('acct-1', store));
    for (const amount of [5, 7, 11]) await deposit(ref, amount);
    await first.shutdown();
    const second = start('second').system;
    const again = second.spawn(account('acct-1', store));
    expect(await balanceOf(again)).toBe(23);
    expect(await deposit(again, 1)).toBe(24);
    expect((await store.readEvents('acct-1', 1, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('a supervised restart resumes from the stored state, same ref, mailbox kept, every message accounted for', async () => {
    const { system, deadLetters } = start();
    const store = memoryStore();
    const ref = supervised(system, 'acct-1', store);
    await deposit(ref, 100);
    // A crash, with deposits queued behind it: they wait through the restart and its recovery.
    ref.tell({ type: 'crash' });
    for (let i = 0; i < 20; i++) ref.tell({ type: 'deposit', amount: 1 });
    expect(await balanceOf(ref)).toBe(120);
    expect(system.lookup('/user/bank/account')).toBe(ref);
    const stats = system.inspect(ref);
    expect(stats?.restarts).toBe(1);
    expect(deadLetters.map((d) => d.reason)).toEqual(['failed']);
    // received = processed + failed (the auditor checks the same after each test).
    expect(stats?.received).toBe((stats?.processed ?? 0) + 1);
  });

  it('holds messages that arrive during recovery in the mailbox, in order, within its bound', async () => {
    const { system, deadLetters } = start();
    const store = new ControlledStore(memoryStore());
    await store.inner.write([
      {
        kind: 'events',
        persistenceId: 'acct-1',
        expectedSeq: 0,
        events: [{ payload: '{"type":"deposited","amount":50}' }],
      },
    ]);
    const release = store.holdReads();
    const ref = system.spawn(account('acct-1', store), { mailbox: { capacity: 3 } });
    ref.tell({ type: 'withdraw', amount: 30 }); // valid only once the 50 is recovered
    ref.tell({ type: 'deposit', amount: 1 });
    ref.tell({ type: 'deposit', amount: 2 });
    ref.tell({ type: 'deposit', amount: 4 }); // the mailbox is full: a dead letter, not a silent loss
    expect(system.inspect(ref)?.mailboxDepth).toBe(3);
    expect(deadLetters.map((d) => d.reason)).toEqual(['mailboxFull']);
    release();
    expect(await balanceOf(ref)).toBe(23);
  });

  it('snapshots every N events, and recovery replays only the events after the snapshot', async () => {
    const inner = memoryStore();
    const first = start('first').system;
    const ref = first.spawn(account('acct-1', inner, { snapshotEvery: 10 }));
    for (let i = 1; i <= 25; i++) await deposit(ref, 1);
    await waitFor(async () => (await inner.loadSnapshot('acct-1'))?.seq === 20, 'the snapshot at 20');
    await first.shutdown();
    const store = new ControlledStore(inner);
    const second = start('second').system;
    const again = second.spawn(account('acct-1', store, { snapshotEvery: 10 }));
    expect(await balanceOf(again)).toBe(25);
    expect(store.eventReads).toEqual([{ persistenceId: 'acct-1', fromSeq: 21 }]);
    const node = second.tree().children.find((c) => c.path === again.path);
    expect(node?.details).toEqual({ persistenceId: 'acct-1', seq: 25 });
  });

  it('can delete the events a snapshot covers, and still recovers', async () => {
    const store = memoryStore();
    const first = start('first').system;
    const ref = first.spawn(account('acct-1', store, { snapshotEvery: 5, deleteEventsOnSnapshot: true }));
    for (let i = 1; i <= 7; i++) await deposit(ref, 1);
    await waitFor(async () => (await store.readEvents('acct-1', 1, 100)).length === 2, 'events 1..5 deleted');
    await first.shutdown();
    const again = start('second').system.spawn(account('acct-1', store));
    expect(await balanceOf(again)).toBe(7);
  });

  it('a failed write fails the actor: the command is a failed dead letter, its events are not applied, no reply', async () => {
    const { system, deadLetters, failures } = start();
    const store = new ControlledStore(memoryStore());
    const ref = supervised(system, 'acct-1', store);
    await deposit(ref, 10);
    store.failWrites = new Error('disk full');
    await expect(
      ref.ask<AccountReply>((replyTo) => ({ type: 'deposit', amount: 5, replyTo }), { timeoutMs: 300 }),
    ).rejects.toThrow(/timed out/);
    await waitFor(() => failures.length === 1, 'the failure');
    expect(String(failures[0]?.error)).toMatch(/disk full/);
    expect(deadLetters.filter((d) => d.reason === 'failed')).toHaveLength(1);
    store.failWrites = null;
    expect(await balanceOf(ref)).toBe(10);
    expect(await deposit(ref, 1)).toBe(11);
  });

  it('of two incarnations writing one persistence id, one wins; the loser fails with ConcurrencyError and its restart recovers the winner', async () => {
    const store = memoryStore();
    const nodeA = start('node-a');
    const nodeB = start('node-b');
    const a = supervised(nodeA.system, 'acct-1', store);
    const b = supervised(nodeB.system, 'acct-1', store);
    expect(await balanceOf(a)).toBe(0);
    expect(await balanceOf(b)).toBe(0); // both recovered: both believe seq is 0
    expect(await deposit(a, 10)).toBe(10);
    b.tell({ type: 'deposit', amount: 99 }); // stale: refused
    await waitFor(() => nodeB.failures.length === 1, 'node B to fail');
    const lost = nodeB.failures[0]?.error;
    expect(lost).toBeInstanceOf(ConcurrencyError);
    expect(lost).toMatchObject({ persistenceId: 'acct-1', expected: 0, actual: 1 });
    expect(await balanceOf(b)).toBe(10); // restarted from A's events
    expect(await deposit(b, 1)).toBe(11);
    expect((await store.readEvents('acct-1', 1, 10)).map((e) => e.payload)).toEqual([
      '{"type":"deposited","amount":10}',
      '{"type":"deposited","amount":1}',
    ]);
  });

  it('an event that cannot be decoded fails the start with a RecoveryError naming the persistence id and sequence number', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    await store.write([
      {
        kind: 'events',
        persistenceId: 'acct-9',
        expectedSeq: 0,
        events: [{ payload: '{"type":"deposited","amount":1}' }, { payload: '{not json' }],
      },
    ]);
    system.spawn(account('acct-9', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    expect(failures[0]?.phase).toBe('start');
    const error = failures[0]?.error as RecoveryError;
    expect(error).toBeInstanceOf(RecoveryError);
    expect(error.persistenceId).toBe('acct-9');
    expect(error.seq).toBe(2);
    expect(error.message).toMatch(/acct-9: event 2 cannot be decoded/);
    expect(error.cause).toBeInstanceOf(DecodeError);
    expect(error.cause).toMatchObject({ persistenceId: 'acct-9', seq: 2 });
  });

  it('missing events are a RecoveryError, not a silently wrong state', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    const payload = '{"type":"deposited","amount":1}';
    await store.write([
      {
        kind: 'events',
        persistenceId: 'acct-1',
        expectedSeq: 0,
        events: [{ payload }, { payload }, { payload }],
      },
    ]);
    await store.deleteEvents('acct-1', 2); // deleted without a snapshot covering them
    system.spawn(account('acct-1', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    expect(failures[0]?.error).toBeInstanceOf(RecoveryError);
    expect(failures[0]?.error).toMatchObject({ persistenceId: 'acct-1', seq: 1 });
    expect(String(failures[0]?.error)).toMatch(/events 1\.\.2 are missing/);
  });

  it('an event adapter upgrades old event shapes on read', async () => {
    const store = memoryStore();
    await store.write([
      {
        kind: 'events',
        persistenceId: 'acct-1',
        expectedSeq: 0,
        events: [{ payload: '{"kind":"dep","cents":250}' }, { payload: '{"type":"deposited","amount":1}' }],
      },
    ]);
    const { system } = start();
    const ref = system.spawn(
      account('acct-1', store, {
        adapter: {
          fromJournal: (stored) => {
            const old = stored as { kind?: string; cents?: number; type?: string; amount?: number };
            return old.kind === 'dep'
              ? { type: 'deposited', amount: (old.cents ?? 0) / 100 }
              : (stored as { type: 'deposited'; amount: number });
          },
        },
      }),
    );
    expect(await balanceOf(ref)).toBe(3.5);
  });

  it('an adapter that throws on read is a DecodeError for that event', async () => {
    const store = memoryStore();
    await store.write([{ kind: 'events', persistenceId: 'p', expectedSeq: 0, events: [{ payload: '{}' }] }]);
    const { system, failures } = start();
    system.spawn(
      account('p', store, {
        adapter: {
          fromJournal: () => {
            throw new Error('unknown shape');
          },
        },
      }),
    );
    await waitFor(() => failures.length === 1, 'the failed start');
    expect(failures[0]?.error).toBeInstanceOf(RecoveryError);
    expect(String(failures[0]?.error)).toMatch(/p: event 1 cannot be decoded: unknown shape/);
  });

  it('commits the events of many actors in one turn as one batch; each replies after its own commit', async () => {
    const { system } = start();
    const store = new ControlledStore(memoryStore());
    const refs = Array.from({ length: 50 }, (_, i) => system.spawn(account(`acct-${i}`, store)));
    await Promise.all(refs.map((ref) => balanceOf(ref)));
    const replies = await Promise.all(refs.map((ref, i) => deposit(ref, i)));
    expect(replies).toEqual(refs.map((_, i) => i));
    expect(store.batches.length).toBeLessThanOrEqual(3);
    expect(Math.max(...store.batches.map((b) => b.length))).toBeGreaterThanOrEqual(25);
  });

  it('a lost connection fails the whole batch; each actor of it fails on its own, restarts and recovers', async () => {
    const { system, failures, deadLetters } = start();
    const store = new ControlledStore(memoryStore());
    const children = Array.from({ length: 20 }, (_, i) => ({
      id: `a${i}`,
      behavior: account(`acct-${i}`, store),
    }));
    system.spawn(
      supervisor({ strategy: 'oneForOne', intensity: { maxRestarts: 100, withinMs: 60_000 }, children }),
      { name: 'bank' },
    );
    const refs = children.map((c) => system.lookup(`/user/bank/${c.id}`) as ActorRef<AccountCommand>);
    await Promise.all(refs.map((ref) => deposit(ref, 1)));
    const lost = new StoreUnavailableError('controlled', 'connection', true, {
      cause: new Error('ECONNRESET'),
    });
    store.failWrites = lost;
    const before = store.batches.length;
    for (const ref of refs) ref.tell({ type: 'deposit', amount: 100 });
    await waitFor(() => failures.length === refs.length, 'every actor of the batch to fail');
    expect(store.batches.length - before).toBe(1); // one batch for all of them
    expect(new Set(failures.map((f) => f.path))).toEqual(new Set(refs.map((r) => r.path)));
    expect(failures.every((f) => f.error === lost && f.phase === 'running')).toBe(true);
    expect(deadLetters.filter((d) => d.reason === 'failed' && d.error === lost)).toHaveLength(refs.length);
    store.failWrites = null;
    // Each recovered on its own from what is stored (the failed batch stored nothing), and goes on.
    expect(await Promise.all(refs.map((ref) => balanceOf(ref)))).toEqual(refs.map(() => 1));
    expect(await Promise.all(refs.map((ref) => deposit(ref, 1)))).toEqual(refs.map(() => 2));
    expect(refs.every((ref) => system.inspect(ref)?.restarts === 1)).toBe(true);
  });

  it('Effect.unhandled makes the command an unhandled dead letter', async () => {
    const { system, deadLetters } = start();
    const ref = system.spawn(account('acct-1', memoryStore()));
    ref.tell({ type: 'frozen' });
    expect(await balanceOf(ref)).toBe(0);
    expect(deadLetters.map((d) => d.reason)).toEqual(['unhandled']);
  });

  it('an event that is not JSON fails the command before anything is stored', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    const ref = system.spawn(
      eventSourced<{ type: 'go' }, { type: 'bad'; n: bigint }, number>({
        persistenceId: 'bad',
        store,
        emptyState: 0,
        commandHandler: () => Effect.persist({ type: 'bad', n: 1n }),
        eventHandler: (n) => n + 1,
      }),
    );
    ref.tell({ type: 'go' });
    await waitFor(() => failures.length === 1, 'the failure');
    expect(failures[0]?.error).toBeInstanceOf(TypeError);
    expect(await store.highestSeq('bad')).toBe(0);
  });

  it('a `then` that throws fails the actor after the commit: the event stays, and the restart recovers it', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    const ref = system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [
          {
            id: 'c',
            behavior: eventSourced<AccountCommand, { type: 'deposited'; amount: number }, number>({
              persistenceId: 'c',
              store,
              emptyState: 0,
              commandHandler: (balance, cmd) => {
                if (cmd.type === 'balance')
                  return Effect.none(() => cmd.replyTo.tell({ type: 'balance', balance }));
                if (cmd.type !== 'deposit') return Effect.unhandled();
                return Effect.persist({ type: 'deposited', amount: cmd.amount }, () => {
                  throw new Error('reply failed');
                });
              },
              eventHandler: (balance, e) => balance + e.amount,
            }),
          },
        ],
      }),
    );
    void ref;
    const child = system.lookup(`${ref.path}/c`) as import('@troupe/runtime').ActorRef<AccountCommand>;
    child.tell({ type: 'deposit', amount: 7 });
    await waitFor(() => failures.length === 1, 'the failure');
    expect(await balanceOf(child)).toBe(7);
    expect(await store.highestSeq('c')).toBe(1);
  });

  it('an event handler that throws on a stored event fails every restart at recovery until the supervisor gives up', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    await store.write([
      { kind: 'events', persistenceId: 'poison', expectedSeq: 0, events: [{ payload: '{"amount":-1}' }] },
    ]);
    const escalated: unknown[] = [];
    system.events.subscribe((e) => {
      if (e.type === 'SupervisorEscalated') escalated.push(e);
    });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 2, withinMs: 60_000 },
        children: [
          {
            id: 'p',
            behavior: eventSourced<AccountCommand, { amount: number }, number>({
              persistenceId: 'poison',
              store,
              emptyState: 0,
              commandHandler: () => Effect.none(),
              eventHandler: (balance, e) => {
                if (e.amount < 0) throw new RangeError('negative amount');
                return balance + e.amount;
              },
            }),
          },
        ],
      }),
      { name: 'sup' },
    );
    await waitFor(() => escalated.length === 1, 'the supervisor to give up');
    const starts = failures.filter((f) => f.phase === 'start');
    expect(starts.length).toBe(3);
    for (const { error } of starts) {
      expect(error).toBeInstanceOf(RecoveryError);
      expect(error).toMatchObject({ persistenceId: 'poison', seq: 1 });
      expect((error as RecoveryError).cause).toBeInstanceOf(RangeError);
      expect(String(error)).toMatch(/the event handler threw on event 1: negative amount/);
    }
  });

  it('refuses bad options at the call', () => {
    const store = memoryStore();
    const base = {
      store,
      emptyState: 0,
      commandHandler: () => Effect.none(),
      eventHandler: (s: number) => s,
    };
    expect(() => eventSourced({ ...base, persistenceId: '' })).toThrow(TypeError);
    expect(() => eventSourced({ ...base, persistenceId: 'x', snapshotEvery: 0 })).toThrow(RangeError);
    expect(() => eventSourced({ ...base, persistenceId: 'x', eventHandler: 3 as never })).toThrow(TypeError);
    expect(() => eventSourced({ ...base, persistenceId: 'x', keepSnapshots: 1.5 })).toThrow(RangeError);
    expect(() => eventSourced({ ...base, persistenceId: 'x', store: {} as never })).toThrow(TypeError);
    expect(() =>
      eventSourced({ ...base, persistenceId: 'x', recovery: { snapshot: { maxSequenceNr: '3' as never } } }),
    ).toThrow(TypeError);
  });

  it('reports every bad option at once', () => {
    let error: unknown;
    try {
      eventSourced({
        persistenceId: 'x',
        store: null as never,
        emptyState: 0,
        commandHandler: 'nope' as never,
        eventHandler: (s: number) => s,
        snapshotEvery: -3,
        deleteEventsOnSnapshot: 'yes' as never,
        tagger: 1 as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    const fields = (error as InvalidOptionsError).errors.map((e) => e.message);
    expect(fields).toEqual([
      expect.stringMatching(/store must be a PersistenceStore/),
      expect.stringMatching(/commandHandler must be a function/),
      expect.stringMatching(/snapshotEvery must be an integer >= 1; got -3/),
      expect.stringMatching(/deleteEventsOnSnapshot must be a boolean/),
      expect.stringMatching(/tagger must be a function/),
    ]);
    expect((error as InvalidOptionsError).owner).toBe('eventSourced(x)');
  });

  it('after any command sequence and a restart, the state equals a replay of the stored events (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ type: fc.constant('deposit' as const), amount: fc.integer({ min: 1, max: 100 }) }),
            fc.record({ type: fc.constant('withdraw' as const), amount: fc.integer({ min: 1, max: 150 }) }),
            fc.constant({ type: 'crash' as const }),
          ),
          { maxLength: 30 },
        ),
        async (commands) => {
          const { system } = start('prop');
          const store = memoryStore();
          const ref = supervised(system, 'acct-p', store, 100);
          for (const command of commands) ref.tell(command);
          const live = await balanceOf(ref);
          await system.shutdown();
          const stored = await store.readEvents('acct-p', 1, 1000);
          expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
          const replayed = stored
            .map((e) => JSON.parse(e.payload))
            .reduce(applyAccountEvent, { balance: 0, history: 0 } as AccountState);
          expect(live).toBe(replayed.balance);
          const again = start('again').system.spawn(account('acct-p', store));
          expect(await balanceOf(again)).toBe(replayed.balance);
        },
      ),
      { numRuns: 20 },
    );
  });
});
