/**
 * A persistent machine's pending delayed events and timers across crashes: each is saved with
 * its deadline on the system clock and restored due at it (issue 21, items 16 and 21).
 */
import {
  type ActorContext,
  ActorSystem,
  fromMachine,
  type MachinePersistence,
  type PersistedMachine,
} from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, raise, sendTo, setup } from 'xstate';

type ChainEvent = { type: 'go' } | { type: 'ping' } | { type: 'tick' };
interface Fired {
  readonly what: string;
  readonly at: number;
}

/** A hook over one variable: what a store would keep, without one (saves land on a microtask). */
class Saved {
  state: PersistedMachine | undefined;
  saves = 0;
  hook = (): MachinePersistence => ({
    load: async () => (this.state === undefined ? undefined : structuredClone(this.state)),
    save: async (state) => {
      this.state = JSON.parse(JSON.stringify(state)) as PersistedMachine;
      this.saves++;
    },
  });
}

/**
 * On `go` (at t=0): `a`, which moves to `b` after 300 ms, which moves to `c` 500 ms after
 * entering it; a keyed delayed raise `ping` in 700 ms; a keyed actor timer `tick` in 450 ms.
 * Every arrival is recorded with the clock's time, in the (saved) context.
 */
const chain = (ctx: ActorContext<ChainEvent>) =>
  setup({
    types: { events: {} as ChainEvent, context: {} as { fired: Fired[] } },
    actions: {
      record: assign(({ context }, params: { what: string }) => ({
        fired: [...context.fired, { what: params.what, at: ctx.clock.now() }],
      })),
      startTick: () => ctx.timers.startSingle('tick', { type: 'tick' }, 450),
    },
  }).createMachine({
    id: 'chain',
    context: { fired: [] },
    initial: 'idle',
    on: {
      ping: { actions: { type: 'record', params: { what: 'ping' } } },
      tick: { actions: { type: 'record', params: { what: 'tick' } } },
    },
    states: {
      idle: {
        on: {
          go: { target: 'a', actions: [raise({ type: 'ping' }, { delay: 700, id: 'ping' }), 'startTick'] },
        },
      },
      a: { after: { 300: 'b' } },
      b: { entry: { type: 'record', params: { what: 'b' } }, after: { 500: 'c' } },
      c: { entry: { type: 'record', params: { what: 'c' } } },
    },
  });

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ timeoutMs: 100 });
});

/** One process: a system on `clock` running the chain from `saved`. */
const boot = async (clock: VirtualClock, saved: Saved) => {
  const system = ActorSystem.start({ name: 'timers', clock });
  systems.push(system);
  const ref = system.spawn(fromMachine(chain, { persistence: saved.hook }), { name: 'chain' });
  await settle(system);
  clock.advance(0); // what was overdue at the restore fires now
  await settle(system);
  return { system, ref };
};

const firedOf = (saved: Saved) =>
  ((saved.state?.snapshot as { context: { fired: Fired[] } } | undefined)?.context.fired ?? []).map(
    (f) => `${f.what}@${f.at}`,
  );

describe('a persistent machine keeps its deadlines across crashes', () => {
  it('saves each pending delayed event and actor timer with its deadline on the system clock', async () => {
    const saved = new Saved();
    const clock = new VirtualClock(10_000);
    const { system, ref } = await boot(clock, saved);
    ref.tell({ type: 'go' });
    await settle(system);
    expect(saved.state?.timers).toEqual([
      { key: expect.any(String), message: { type: 'xstate.after.300.chain.a' }, deadline: 10_300 },
      { key: 'ping', message: { type: 'ping' }, deadline: 10_700 },
    ]);
    expect(saved.state?.actorTimers).toEqual([{ key: 'tick', message: { type: 'tick' }, deadline: 10_450 }]);
  });

  it('overdue at restore: all fire at once, the machine’s in deadline order', async () => {
    const saved = new Saved();
    const first = await boot(new VirtualClock(), saved);
    first.ref.tell({ type: 'go' });
    await settle(first.system);
    await first.system.shutdown();

    await boot(new VirtualClock(5_000), saved); // b (300), tick (450), ping (700) all overdue
    expect(firedOf(saved)).toEqual(['b@5000', 'ping@5000', 'tick@5000']);
    expect(saved.state?.timers.map((t) => t.message.type)).toEqual(['xstate.after.500.chain.b']);
    expect(saved.state?.timers[0]?.deadline).toBe(5_500); // c: 500 ms after b was entered, at the restore
  });

  it('property: crashed at random points, every delayed event and timer fires once, at its deadline or at the restore after it', async () => {
    const step = 10;
    const crashes = fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 4 }).chain((ats) =>
      fc.tuple(
        fc.constant([...ats].sort((a, b) => a - b).map((at) => at * step)),
        fc.array(
          fc.integer({ min: 0, max: 60 }).map((d) => d * step),
          { minLength: ats.length, maxLength: ats.length },
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(crashes, async ([crashAts, downs]) => {
        const saved = new Saved();
        // Process i runs the clock over [starts[i], ends[i]]; between them, no process runs.
        const starts = [0];
        const ends: number[] = [];
        let clock = new VirtualClock(0);
        let running = await boot(clock, saved);
        running.ref.tell({ type: 'go' });
        await settle(running.system);
        let now = 0;
        let shift = 0; // downtime so far: crash i happens at crashAts[i] + shift on the clock
        for (let i = 0; i < crashAts.length; i++) {
          const crashAt = (crashAts[i] as number) + shift;
          while (now < crashAt) {
            clock.advance(step);
            now += step;
            await settle(running.system);
          }
          ends.push(now);
          await running.system.shutdown({ timeoutMs: 100 });
          const down = downs[i] as number;
          shift += down;
          now += down;
          starts.push(now);
          clock = new VirtualClock(now);
          running = await boot(clock, saved);
        }
        const end = now + 1_500;
        while (now < end) {
          clock.advance(step);
          now += step;
          await settle(running.system);
        }
        ends.push(Number.POSITIVE_INFINITY);
        /** When something due at `deadline` fires: then, if a process ran, else at the next start. */
        const fire = (deadline: number) => {
          for (let i = 0; i < starts.length; i++) {
            if (deadline <= (ends[i] as number)) return Math.max(deadline, starts[i] as number);
          }
          throw new Error('unreachable: the last process never ends');
        };
        const b = fire(300);
        const expected = [`b@${b}`, `tick@${fire(450)}`, `ping@${fire(700)}`, `c@${fire(b + 500)}`];
        expect([...firedOf(saved)].sort()).toEqual(expected.sort());
        expect(saved.state?.timers).toEqual([]);
        expect(saved.state?.actorTimers).toEqual([]);
        for (const system of systems.splice(0)) await system.shutdown({ timeoutMs: 100 });
      }),
      { numRuns: 40 },
    );
  });

  it('restores a delayed sendTo one of its XState children, to that child', async () => {
    const kid = setup({
      types: { events: {} as { type: 'poke' }, context: {} as { pokes: number } },
    }).createMachine({
      context: { pokes: 0 },
      on: { poke: { actions: assign({ pokes: ({ context }) => context.pokes + 1 }) } },
    });
    const parent = setup({ types: { events: {} as { type: 'go' } }, actors: { kid } }).createMachine({
      invoke: { id: 'kid', src: 'kid' },
      on: { go: { actions: sendTo('kid', { type: 'poke' }, { delay: 200, id: 'poke' }) } },
    });
    const saved = new Saved();
    const pokes = (snapshot: unknown) =>
      (
        snapshot as { children: { kid?: { getSnapshot(): { context: { pokes: number } } } } }
      ).children.kid?.getSnapshot().context.pokes;
    const spawnParent = (clock: VirtualClock) => {
      const system = ActorSystem.start({ name: 'kids', clock });
      systems.push(system);
      const ref = system.spawn(
        fromMachine(parent, { persistence: saved.hook, describe: (s) => ({ pokes: pokes(s) }) }),
      );
      return { system, ref };
    };
    const first = spawnParent(new VirtualClock());
    await settle(first.system);
    first.ref.tell({ type: 'go' });
    await settle(first.system);
    expect(saved.state?.timers).toEqual([
      { key: 'poke', message: { type: 'poke' }, deadline: 200, target: '#_kid' },
    ]);
    await first.system.shutdown();

    const clock = new VirtualClock(150);
    const second = spawnParent(clock);
    await settle(second.system);
    const kidPokes = () =>
      (second.system.tree().children[0]?.details as { pokes?: number } | undefined)?.pokes;
    clock.advance(49);
    expect(kidPokes()).toBe(0);
    clock.advance(1);
    expect(kidPokes()).toBe(1);
  });

  it('restores a state saved before deadlines ({ id, event, remainingMs }): due that long after the restore', async () => {
    const saved = new Saved();
    const first = await boot(new VirtualClock(), saved);
    first.ref.tell({ type: 'go' });
    await settle(first.system);
    await first.system.shutdown();
    const state = saved.state as PersistedMachine;
    saved.state = {
      snapshot: state.snapshot,
      timers: [{ id: 'ping', event: { type: 'ping' }, remainingMs: 100 }],
    } as unknown as PersistedMachine;

    const clock = new VirtualClock(9_000);
    await boot(clock, saved);
    clock.advance(99);
    expect(firedOf(saved)).toEqual([]);
    clock.advance(1);
    await settle(systems[1] as ActorSystem);
    expect(firedOf(saved)).toEqual(['ping@9100']);
  });
});
