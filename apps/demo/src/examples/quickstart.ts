import { Topic, topic } from '@troupe/actors';
import { type ActorRef, ActorSystem, fromMachine, supervisor } from '@troupe/runtime';
import { assign, setup } from 'xstate';

type Reading = { type: 'Reading'; sensor: string; celsius: number };
type Query = { type: 'Average'; replyTo: ActorRef<{ type: 'Average'; celsius: number }> };

// A behaviour is an XState machine: each message is an event.
const averager = setup({
  types: { context: {} as { sum: number; count: number }, events: {} as Reading | Query },
  actions: { reply: (_, _params: { celsius: number; replyTo: Query['replyTo'] }) => {} },
}).createMachine({
  context: { sum: 0, count: 0 },
  on: {
    Reading: {
      actions: assign(({ context, event }) => ({
        sum: context.sum + event.celsius,
        count: context.count + 1,
      })),
    },
    Average: {
      actions: {
        type: 'reply',
        params: ({ context, event }) => ({
          celsius: context.count ? context.sum / context.count : 0,
          replyTo: event.replyTo,
        }),
      },
    },
  },
});

const system = ActorSystem.start({ name: 'quickstart' });

// A supervisor restarts what fails: here a topic and the averager, one for one.
system.spawn(
  supervisor({
    strategy: 'oneForOne',
    intensity: { maxRestarts: 3, withinMs: 5000 },
    children: [
      { id: 'readings', start: () => topic<Reading>() },
      {
        id: 'averager',
        behavior: fromMachine((ctx) =>
          averager.provide({
            actions: { reply: (_, p) => ctx.reply(p.replyTo, { type: 'Average', celsius: p.celsius }) },
          }),
        ),
      },
    ],
  }),
  { name: 'sensors' },
);
const readings = system.lookup('/user/sensors/readings') as ActorRef<Reading>;
const average = system.lookup('/user/sensors/averager') as ActorRef<Reading | Query>;

// Publish on the topic; every subscriber gets every reading.
await Topic.subscribe(readings, average);
for (const celsius of [20, 22, 24]) readings.tell({ type: 'Reading', sensor: 'kitchen', celsius });
await Topic.stats(readings); // the topic answers after fanning out what came before

// Ask: request-reply with a timeout.
const reply = await average.ask<{ type: 'Average'; celsius: number }>((replyTo) => ({
  type: 'Average',
  replyTo,
}));
console.log(`average: ${reply.celsius}°C`); // average: 22°C

await system.shutdown();
