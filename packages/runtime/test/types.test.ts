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
    const reset: Msg = { type: 'reset' };
    const result: TrySendResult<Msg> = ref.trySend(reset);
    expectTypeOf(result.ok).toEqualTypeOf<boolean>();
    // @ts-expect-error a message of another type
    ref.tell({ type: 'nope' });
    // @ts-expect-error a known type with a wrong payload
    ref.tell({ type: 'inc', by: 'one' });
    // @ts-expect-error not a message at all
    ref.tell(42);
  });

  it('a ref that accepts more message types stands in for a ref of fewer (e.g. as a subscriber)', () => {
    system = ActorSystem.start({ name: 'types' });
    type Wide = Msg | { type: 'extra' };
    const wide = system.spawn(receive<null, Wide>(null, (s) => s));
    const narrow: ActorRef<Msg> = wide;
    narrow.tell({ type: 'reset' });
    // @ts-expect-error the narrow view no longer accepts the extra message
    narrow.tell({ type: 'extra' });
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
