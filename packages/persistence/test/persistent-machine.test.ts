import { type ActorFailed, type ActorRef, ActorSystem, type Message, supervisor } from '@troupe/runtime';
import { VirtualClock } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, cancel, raise, setup } from 'xstate';
import { waitFor } from '../../../test/support/wait.js';
import { DecodeError, memoryStore, type PersistenceStore, persistentMachine } from '../src/index.js';
import { ControlledStore } from './support/store-wrappers.js';

type DoorEvent = { type: 'open' } | { type: 'disarm' } | { type: 'remind' } | { type: 'explode' };

/**
 * A door: opening it closes it again after 1 s (`after`), and arms a reminder in 5 s (a
 * delayed raise with the key `reminder`) that `disarm` cancels by its key.
 */
const door = setup({
  types: { events: {} as DoorEvent, context: {} as { opened: number; reminded: number } },
  actions: {
    explode: () => {
      throw new Error('the door exploded');
    },
  },
}).createMachine({
  id: 'door',
  context: { opened: 0, reminded: 0 },
  initial: 'closed',
  on: {
    remind: { actions: assign({ reminded: ({ context }) => context.reminded + 1 }) },
    disarm: { actions: cancel('reminder') },
    explode: { actions: 'explode' },
  },
  states: {
    closed: {
      on: {
        open: {
          target: 'open',
          actions: [
            assign({ opened: ({ context }) => context.opened + 1 }),
            raise({ type: 'remind' }, { delay: 5000, id: 'reminder' }),
          ],
        },
      },
    },
    open: { after: { 1000: 'closed' } },
  },
});

const systems: ActorSystem[] = [];
const start = (clock: VirtualClock) => {
  const system = ActorSystem.start({ name: 'machines', clock });
  systems.push(system);
  const failures: ActorFailed[] = [];
  system.events.subscribe((e) => {
    if (e.type === 'ActorFailed') failures.push(e);
  });
  return { system, failures };
};
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ timeoutMs: 100 });
});

const behaviour = (store: PersistenceStore) => persistentMachine(door, { persistenceId: 'door-1', store });

/** The machine's state and context as the store has them. */
const stored = async (store: PersistenceStore) => {
  const state = await store.loadState('door-1');
  if (state === undefined) return undefined;
  const saved = JSON.parse(state.payload) as {
    snapshot: { value: string; context: { opened: number; reminded: number } };
    timers: { key: string; message: { type: string }; deadline: number }[];
  };
  return { value: saved.snapshot.value, context: saved.snapshot.context, timers: saved.timers };
};

const detailsOf = (system: ActorSystem, ref: ActorRef<Message>) =>
  system.tree().children.find((c) => c.path === ref.path)?.details as
    | { state?: string; recovering?: true }
    | undefined;
const machineState = (system: ActorSystem, ref: ActorRef<Message>) => detailsOf(system, ref)?.state;

/** Waits until every save has reached the store (the revision stops moving). */
const savedRevision = async (store: PersistenceStore, revision: number) =>
  waitFor(async () => (await store.loadState('door-1'))?.revision === revision, `revision ${revision}`);

describe('persistentMachine', () => {
  it('restores a pending `after` transition due at its original deadline, in a new process', async () => {
    const store = memoryStore();
    const clock1 = new VirtualClock();
    const first = start(clock1).system;
    const ref = first.spawn(behaviour(store));
    ref.tell({ type: 'open' }); // at t=0: the close is due at 1000, the reminder at 5000
    await savedRevision(store, 1);
    clock1.advance(400);
    ref.tell({ type: 'disarm' }); // any change saves again
    await waitFor(async () => (await stored(store))?.timers.length === 1, 'the save after disarm');
    expect((await stored(store))?.timers).toEqual([
      { key: expect.any(String), message: { type: 'xstate.after.1000.door.open' }, deadline: 1000 },
    ]);
    await first.shutdown();

    // A new process, 300 ms after the first one died: the downtime counts, nothing is postponed.
    const clock2 = new VirtualClock(700);
    const second = start(clock2).system;
    const again = second.spawn(behaviour(store));
    await waitFor(() => machineState(second, again) === 'open', 'the restore');
    clock2.advance(299);
    expect(machineState(second, again)).toBe('open');
    clock2.advance(1);
    expect(machineState(second, again)).toBe('closed');
    // The delayed transition's change is saved too (no message caused it).
    await waitFor(
      async () => (await stored(store))?.value === 'closed',
      'the save after the delayed transition',
    );
  });

  it('a deadline that passed while no process ran the machine fires at once at restore', async () => {
    const store = memoryStore();
    const clock1 = new VirtualClock();
    const ref = start(clock1).system.spawn(behaviour(store));
    ref.tell({ type: 'open' });
    await savedRevision(store, 1);
    await systems[0]?.shutdown();

    const clock2 = new VirtualClock(60_000); // down for a minute: close and reminder both overdue
    const second = start(clock2).system;
    const again = second.spawn(behaviour(store));
    await waitFor(() => machineState(second, again) !== undefined, 'the restore');
    clock2.advance(0);
    expect(machineState(second, again)).toBe('closed');
    await waitFor(async () => (await stored(store))?.context.reminded === 1, 'the overdue reminder, once');
    clock2.advance(60_000);
    expect((await stored(store))?.context).toEqual({ opened: 1, reminded: 1 });
    expect((await stored(store))?.timers).toEqual([]);
  });

  it('restores a keyed delayed event at its deadline, and its key still cancels it', async () => {
    const store = memoryStore();
    const clock1 = new VirtualClock();
    const first = start(clock1).system;
    const ref = first.spawn(behaviour(store));
    ref.tell({ type: 'open' });
    await savedRevision(store, 1);
    clock1.advance(1000); // closes: the reminder is still due at 5000
    await waitFor(async () => (await stored(store))?.value === 'closed', 'the save after closing');
    expect((await stored(store))?.timers).toEqual([
      { key: 'reminder', message: { type: 'remind' }, deadline: 5000 },
    ]);
    await first.shutdown();

    const clock2 = new VirtualClock(1000);
    const second = start(clock2).system;
    const again = second.spawn(behaviour(store));
    await waitFor(() => machineState(second, again) === 'closed', 'the restore');
    clock2.advance(3999);
    expect((await stored(store))?.context.reminded).toBe(0);
    clock2.advance(1);
    await waitFor(async () => (await stored(store))?.context.reminded === 1, 'the reminder, on time');
    expect((await stored(store))?.timers).toEqual([]);

    // Again, but cancelled by its key after the restore.
    const clock3 = new VirtualClock();
    const third = start(clock3).system;
    const ref3 = third.spawn(persistentMachine(door, { persistenceId: 'door-2', store }));
    ref3.tell({ type: 'open' });
    await waitFor(async () => (await store.loadState('door-2'))?.revision === 1, 'door-2 saved');
    await third.shutdown();
    const clock4 = new VirtualClock();
    const fourth = start(clock4).system;
    const ref4 = fourth.spawn(persistentMachine(door, { persistenceId: 'door-2', store }));
    ref4.tell({ type: 'disarm' });
    await waitFor(
      async () => JSON.parse((await store.loadState('door-2'))?.payload ?? '{}').timers?.length === 1,
      'the disarm saved (only the close is left)',
    );
    clock4.advance(10_000);
    await waitFor(
      async () => JSON.parse((await store.loadState('door-2'))?.payload ?? '{}').snapshot?.value === 'closed',
      'closed',
    );
    expect(JSON.parse((await store.loadState('door-2'))?.payload ?? '{}').snapshot.context.reminded).toBe(0);
  });

  it('a supervised restart resumes from the saved snapshot, with messages that waited in the mailbox', async () => {
    const clock = new VirtualClock();
    const { system, failures } = start(clock);
    const store = memoryStore();
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [{ id: 'door', behavior: behaviour(store) }],
      }),
      { name: 'doors' },
    );
    const ref = system.lookup('/user/doors/door') as ActorRef<DoorEvent>;
    ref.tell({ type: 'open' });
    await savedRevision(store, 1);
    clock.advance(1000);
    await waitFor(async () => (await stored(store))?.value === 'closed', 'closed');
    ref.tell({ type: 'explode' });
    ref.tell({ type: 'open' }); // waits through the restart and the restore
    await waitFor(async () => (await stored(store))?.context.opened === 2, 'the second opening');
    expect(failures.map((f) => String(f.error))).toEqual(['Error: the door exploded']);
    expect(system.inspect(ref)?.restarts).toBe(1);
  });

  it('a failed save fails the actor; a stored state that is not a machine state fails its start with a DecodeError', async () => {
    const clock = new VirtualClock();
    const { system, failures } = start(clock);
    const store = new ControlledStore(memoryStore());
    const ref = system.spawn(behaviour(store));
    store.failWrites = new Error('database is locked');
    ref.tell({ type: 'open' });
    await waitFor(() => failures.length === 1, 'the failure');
    expect(String(failures[0]?.error)).toMatch(/database is locked/);

    const bad = memoryStore();
    await bad.write([
      { kind: 'state', persistenceId: 'door-1', expectedRevision: 0, payload: '{"value":"open"}' },
    ]);
    system.spawn(behaviour(bad));
    await waitFor(() => failures.length === 2, 'the failed start');
    expect(failures[1]?.phase).toBe('start');
    expect(failures[1]?.error).toBeInstanceOf(DecodeError);
  });
});
