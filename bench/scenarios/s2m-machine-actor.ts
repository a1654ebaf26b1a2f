/**
 * S2m: S2's 1,000,000 messages through an XState counting machine run as a Troupe actor
 * (`fromMachine`), against the same machine driven directly with `createActor(machine).send`:
 * what the mailbox, the dispatcher and the behaviour adapter cost on top of XState itself.
 */
import { ActorSystem, fromMachine } from '@troupe/runtime';
import { counterMachine, driveCounter } from '../actors.js';
import type { Scenario } from '../scenario.js';
import { msgsPerSecond, xstateCounter } from './s2-actor-tell.js';

/** `fromMachine` with the machine's `reply` action provided as `ctx.reply`; default mailbox. */
async function troupeMachineCounter(n: number): Promise<number> {
  const system = ActorSystem.start({ name: 'bench-s2m' });
  try {
    const counter = system.spawn(
      fromMachine((ctx) =>
        counterMachine.provide({
          actions: {
            reply: ({ context, event }) => {
              if (event.type === 'get') ctx.reply(event.replyTo, { type: 'count', n: context.count });
            },
          },
        }),
      ),
    );
    return await driveCounter(counter, n);
  } finally {
    await system.shutdown();
  }
}

export const s2mMachineActor: Scenario = {
  id: 'S2m',
  title: 'machine actor: 1,000,000 messages to an XState counting machine, as an actor vs XState directly',
  size: 1_000_000,
  warmupSize: 100_000,
  better: 'higher',
  notes: [
    'Same machine for both (`setup({ types })`, `assign` counting); the count is checked against the messages sent.',
    'troupe: `fromMachine((ctx) => machine.provide({ actions: { reply: … ctx.reply … } }))`, default mailbox ' +
      '(1024, `block`); `trySend`, awaiting `send` only when full; ends with an `ask` for the count (timed).',
    'xstate: `createActor(machine).send` in a loop, then `getSnapshot().context.count`: synchronous, unbounded, ' +
      'no mailbox — the floor the actor adds its costs to. Target: troupe ≥ 0.8× xstate.',
  ],
  systems: {
    troupe: msgsPerSecond(troupeMachineCounter),
    xstate: msgsPerSecond(xstateCounter),
  },
};
