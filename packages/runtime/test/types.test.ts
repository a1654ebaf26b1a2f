import { type ActorRef, ActorSystem, fromMachine, receive, type TrySendResult } from '@troupe/runtime';
import { afterEach, describe, expectTypeOf, it } from 'vitest';
import { setup } from 'xstate';

// Type-level contracts: `tsc -p tsconfig.test.json` (run by `pnpm typecheck` and CI) fails if a
// `@ts-expect-error` line below stops being an error.

type Msg = { type: 'inc'; by: number } | { type: 'reset' };
let system: ActorSystem;
afterEach(async () => {
  await system.shutdown();
});

describe('types', () => {
  it('a receive actor ref accepts only its own message union', () => {
    system = ActorSystem.start({ name: 'types' });
    const ref = system.spawn(receive<number, Msg>(0, (n, m) => (m.type === 'inc' ? n + m.by : 0)));
    expectTypeOf(ref).toEqualTypeOf<ActorRef<Msg>>();
    expectTypeOf(ref.trySend({ type: 'reset' })).toEqualTypeOf<TrySendResult<Msg>>();
    // @ts-expect-error a message of another type
    ref.tell({ type: 'nope' });
    // @ts-expect-error a known type with a wrong payload
    ref.tell({ type: 'inc', by: 'one' });
    // @ts-expect-error not a message at all
    ref.tell(42);
  });

  it('a machine actor ref is typed by the machine events, and ask by the reply type', async () => {
    system = ActorSystem.start({ name: 'types' });
    type Reply = { type: 'value'; n: number };
    const machine = setup({
      types: { events: {} as { type: 'get'; replyTo: ActorRef<Reply> } | { type: 'bump' } },
    }).createMachine({
      on: { get: { actions: ({ event }) => event.replyTo.tell({ type: 'value', n: 1 }) } },
    });
    const ref = system.spawn(fromMachine(machine));
    ref.tell({ type: 'bump' });
    // @ts-expect-error not an event of the machine
    ref.tell({ type: 'inc', by: 1 });
    const reply = await ref.ask<Reply>((replyTo) => ({ type: 'get', replyTo }));
    expectTypeOf(reply).toEqualTypeOf<Reply>();
  });
});
