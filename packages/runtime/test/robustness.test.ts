import { ActorSystem, fromMachine, type Message, receive } from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';

const problems: unknown[] = [];
const record = (reason: unknown) => problems.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
});
afterAll(() => {
  process.off('unhandledRejection', record);
  process.off('uncaughtException', record);
});

describe('no actor error escapes to the process', () => {
  it('throwing, rejecting and erroring behaviours, hooks and listeners never reach unhandledRejection or uncaughtException', async () => {
    const system = ActorSystem.start({ name: 'robust' });
    system.events.subscribe(() => {
      throw new Error('listener bug');
    });
    const thrower = system.spawn(
      receive<null, Message>(null, () => {
        throw new Error('sync');
      }),
    );
    const rejecter = system.spawn(
      receive<null, Message>(null, async () => Promise.reject(new Error('async'))),
    );
    const badStop = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStop: () => {
          throw new Error('stop hook');
        },
      }),
    );
    const machine = setup({
      types: { events: {} as { type: 'go' } },
      actions: {
        explode: () => {
          throw new Error('action');
        },
      },
    }).createMachine({ on: { go: { actions: 'explode' } } });
    const exploding = system.spawn(fromMachine(machine));
    const invoking = setup({
      types: { events: {} as { type: 'go' } },
      actors: { load: fromPromise(async () => Promise.reject(new Error('invoke'))) },
    }).createMachine({ invoke: { src: 'load' } });
    system.spawn(fromMachine(invoking));
    const guard = setup({
      types: { events: {} as { type: 'go' } },
      guards: {
        broken: () => {
          throw new Error('guard');
        },
      },
    }).createMachine({ on: { go: { guard: 'broken', actions: () => {} } } });
    const guarded = system.spawn(fromMachine(guard));

    thrower.tell({ type: 'x' });
    rejecter.tell({ type: 'x' });
    exploding.tell({ type: 'go' });
    guarded.tell({ type: 'go' });
    system.stop(badStop);
    for (const ref of [thrower, rejecter]) ref.tell({ type: 'after death' });
    await settle(system);
    await system.shutdown();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(problems).toEqual([]);
  });
});
