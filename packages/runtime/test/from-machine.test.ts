import { type ActorRef, ActorSystem, fromMachine, type SystemEvent } from '@troupe/runtime';
import { settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';

type Reply = { type: 'count'; count: number };
type DoorEvent =
  | { type: 'open' }
  | { type: 'close' }
  | { type: 'knock'; replyTo: ActorRef<Reply> }
  | { type: 'explode' }
  | { type: 'leave' };

const door = setup({
  types: { events: {} as DoorEvent, context: {} as { knocks: number } },
  actions: {
    reply: (_args, _params: { count: number; replyTo: ActorRef<Reply> }) => {},
    explode: () => {
      throw new Error('door exploded');
    },
  },
}).createMachine({
  context: { knocks: 0 },
  initial: 'closed',
  states: {
    closed: {
      on: {
        open: 'opened',
        knock: {
          actions: [
            assign({ knocks: ({ context }) => context.knocks + 1 }),
            {
              type: 'reply',
              params: ({ context, event }) => ({ count: context.knocks, replyTo: event.replyTo }),
            },
          ],
        },
        explode: { actions: 'explode' },
      },
    },
    opened: { on: { close: 'closed', leave: 'gone' } },
    gone: { type: 'final' },
  },
});

let system: ActorSystem;
let clock: VirtualClock;
let events: SystemEvent[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'machines', clock });
  events = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown();
});

function spawnDoor(name = 'door') {
  return system.spawn(
    fromMachine((ctx) =>
      door.provide({
        actions: {
          reply: (_args, params) => ctx.reply(params.replyTo, { type: 'count', count: params.count }),
        },
      }),
    ),
    { name },
  );
}

describe('fromMachine', () => {
  it('each message is an event; provided actions reach the actor context (reply)', async () => {
    const ref = spawnDoor();
    await expect(ref.ask<Reply>((replyTo) => ({ type: 'knock', replyTo }))).resolves.toEqual({
      type: 'count',
      count: 1,
    });
    await expect(ref.ask<Reply>((replyTo) => ({ type: 'knock', replyTo }))).resolves.toEqual({
      type: 'count',
      count: 2,
    });
  });

  it('an event the machine does not accept in its state is an unhandled dead letter', async () => {
    const ref = spawnDoor();
    ref.tell({ type: 'close' }); // closed has no 'close' transition
    ref.tell({ type: 'open' });
    ref.tell({ type: 'open' }); // opened has no 'open' transition
    await settle(system);
    const unhandled = events.filter((e) => e.type === 'DeadLetter' && e.reason === 'unhandled');
    expect(unhandled.map((e) => (e as { message: unknown }).message)).toEqual([
      { type: 'close' },
      { type: 'open' },
    ]);
  });

  it('a throw in an action is a failure of the actor, never an uncaught error', async () => {
    const ref = spawnDoor();
    ref.tell({ type: 'explode' });
    await settle(system);
    const failed = events.find((e) => e.type === 'ActorFailed') as { error: Error } | undefined;
    expect(failed?.error.message).toBe('door exploded');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'DeadLetter', reason: 'failed', message: { type: 'explode' } }),
    );
    expect(events.at(-1)).toMatchObject({ type: 'ActorStopped', reason: { type: 'error' } });
    expect(system.lookup(ref.path)).toBeUndefined();
  });

  it('reaching a final state stops the actor normally', async () => {
    const ref = spawnDoor();
    ref.tell({ type: 'open' });
    ref.tell({ type: 'leave' });
    await settle(system);
    expect(events.at(-1)).toMatchObject({ type: 'ActorStopped', path: ref.path, reason: { type: 'normal' } });
  });

  it('a machine used directly (no factory) works, with input', async () => {
    const echo = setup({
      types: {
        events: {} as { type: 'get'; replyTo: ActorRef<Reply> },
        context: {} as { start: number },
        input: {} as { start: number },
      },
    }).createMachine({
      context: ({ input }) => ({ start: input.start }),
      on: {
        get: { actions: ({ context, event }) => event.replyTo.tell({ type: 'count', count: context.start }) },
      },
    });
    const ref = system.spawn(fromMachine(echo, { input: { start: 41 } }));
    await expect(ref.ask<Reply>((replyTo) => ({ type: 'get', replyTo }))).resolves.toEqual({
      type: 'count',
      count: 41,
    });
  });

  it('delayed transitions run on the system clock (virtual time)', async () => {
    const blinker = setup({ types: { events: {} as { type: 'noop' } } }).createMachine({
      initial: 'on',
      states: { on: { after: { 100: 'off' } }, off: { type: 'final' } },
    });
    const ref = system.spawn(fromMachine(blinker));
    await settle(system);
    clock.advance(99);
    await settle(system);
    expect(system.lookup(ref.path)).toBe(ref);
    clock.advance(1);
    await settle(system);
    expect(system.lookup(ref.path)).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'ActorStopped', reason: { type: 'normal' } });
  });

  it('a rejected invoked promise that the machine does not handle fails the actor', async () => {
    const fetcher = setup({
      types: { events: {} as { type: 'noop' } },
      actors: { load: fromPromise(async () => Promise.reject(new Error('load failed'))) },
    }).createMachine({ invoke: { src: 'load' } });
    system.spawn(fromMachine(fetcher));
    await settle(system);
    const failed = events.find((e) => e.type === 'ActorFailed') as { error: Error } | undefined;
    expect(failed?.error.message).toBe('load failed');
  });

  it('Terminated of a watched actor is an event the machine can handle', async () => {
    const watched = spawnDoor('watched');
    const probe = new TestProbe<{ type: 'saw'; path: string }>(system);
    const watcher = setup({
      types: { events: {} as { type: 'Terminated'; ref: { path: string } } },
      actions: { saw: (_args, _params: { path: string }) => {} },
    }).createMachine({
      on: { Terminated: { actions: { type: 'saw', params: ({ event }) => ({ path: event.ref.path }) } } },
    });
    system.spawn(
      fromMachine((ctx) => {
        ctx.watch(watched);
        return watcher.provide({
          actions: { saw: (_args, params) => probe.ref.tell({ type: 'saw', path: params.path }) },
        });
      }),
    );
    system.stop(watched);
    expect(await probe.expectMessage()).toEqual({ type: 'saw', path: '/user/watched' });
  });

  it("shows the machine's state in system.tree(), or what describe returns", async () => {
    spawnDoor('plain');
    system.spawn(fromMachine(door, { describe: (snapshot) => ({ knocks: snapshot.context.knocks }) }), {
      name: 'custom',
    });
    system.lookup('/user/plain')?.tell({ type: 'open' });
    await settle(system);
    const nodes = system.tree().children;
    expect(nodes.find((n) => n.name === 'plain')?.details).toEqual({ state: 'opened' });
    expect(nodes.find((n) => n.name === 'custom')?.details).toEqual({ knocks: 0 });
  });
});
