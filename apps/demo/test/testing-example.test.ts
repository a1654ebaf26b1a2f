import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { logSink, settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, expect, it } from 'vitest';

// The actor under test: replies `Rang` once the alarm's delay has passed on the system clock.
type Alarm =
  | { type: 'Set'; afterMs: number; replyTo: ActorRef<Rang> }
  | { type: 'Ring'; replyTo: ActorRef<Rang> };
type Rang = { type: 'Rang'; at: number };

const alarm = receive<null, Alarm>(null, (state, message, ctx) => {
  if (message.type === 'Set')
    ctx.timers.startSingle('alarm', { type: 'Ring', replyTo: message.replyTo }, message.afterMs);
  else message.replyTo.tell({ type: 'Rang', at: ctx.clock.now() });
  return state;
});

// A virtual clock moves only when told; the log sink keeps every log line for assertions.
const clock = new VirtualClock();
const { logger, lines } = logSink('warn');
const system = ActorSystem.start({ name: 'test', clock, logger });
afterEach(() => system.shutdown());

it('rings after the delay, on virtual time', async () => {
  const probe = new TestProbe<Rang>(system); // an actor that records what it receives
  const ref = system.spawn(alarm);
  ref.tell({ type: 'Set', afterMs: 60_000, replyTo: probe.ref });

  await settle(system); // everything that can run without the clock has run
  await probe.expectNoMessage();
  clock.advance(60_000); // a minute passes instantly
  expect(await probe.expectMessage()).toEqual({ type: 'Rang', at: 60_000 });
  expect(lines).toEqual([]); // nothing was logged at warn or above
});
