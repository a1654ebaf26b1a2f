/**
 * S4: request-reply. 100,000 sequential round trips (the next request only after the previous
 * reply) against an actor that answers at once, echoing the request's number. One run measures
 * both the throughput and the p99 of the per-round-trip latencies.
 */
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { Deferred, Effect, Fiber, Queue } from 'effect';
import { dispatch, query, type Ref, spawn, start, stop } from 'nact';
import { createActor, setup } from 'xstate';
import { CAPACITY, Laps } from '../actors.js';
import type { Measurement, Scenario } from '../scenario.js';

interface Pong {
  readonly type: 'pong';
  readonly n: number;
}
interface Ping {
  readonly type: 'ping';
  readonly n: number;
  readonly replyTo: ActorRef<Pong>;
}

/** What a run returns: its laps (one per round trip), the replies that echoed wrong, and its seconds. */
interface RoundTrips {
  readonly laps: Laps;
  readonly wrong: number;
  readonly seconds: number;
}

/** `ref.ask` in a loop, default timeout (5 s, one coarse timer shared by all asks). */
async function troupeAsks(n: number): Promise<RoundTrips> {
  const system = ActorSystem.start({ name: 'bench-s4' });
  try {
    const echo = system.spawn(
      receive<null, Ping>(null, (state, msg) => {
        msg.replyTo.tell({ type: 'pong', n: msg.n });
        return state;
      }),
    );
    const laps = new Laps(n);
    let wrong = 0;
    laps.start();
    for (let i = 0; i < n; i++) {
      const reply = await echo.ask<Pong>((replyTo) => ({ type: 'ping', n: i, replyTo }));
      laps.lap();
      if (reply.n !== i) wrong++;
    }
    return { laps, wrong, seconds: elapsed(laps) };
  } finally {
    await system.shutdown();
  }
}

interface EffectPing {
  readonly n: number;
  readonly reply: Deferred.Deferred<number>;
}

/**
 * A fiber serving a `Queue.bounded(1024)`: `take` a request, `Deferred.succeed` its reply. The
 * client makes a `Deferred`, `offer`s the request and `Deferred.await`s it, in an
 * `Effect.whileLoop`. No timeout.
 */
function effectAsks(n: number): Promise<RoundTrips> {
  const program = Effect.gen(function* () {
    const mailbox = yield* Queue.bounded<EffectPing>(CAPACITY);
    const server = yield* Effect.forkChild(
      Effect.whileLoop({
        while: () => true,
        body: () => Effect.flatMap(Queue.take(mailbox), (req) => Deferred.succeed(req.reply, req.n)),
        step: () => {},
      }),
    );
    const laps = new Laps(n);
    let wrong = 0;
    let i = 0;
    laps.start();
    yield* Effect.whileLoop({
      while: () => i < n,
      body: () =>
        Effect.flatMap(Deferred.make<number>(), (reply) =>
          Effect.andThen(Queue.offer(mailbox, { n: i, reply }), Deferred.await(reply)),
        ),
      step: (echoed) => {
        laps.lap();
        if (echoed !== i) wrong++;
        i++;
      },
    });
    yield* Fiber.interrupt(server);
    return { laps, wrong, seconds: elapsed(laps) };
  });
  return Effect.runPromise(program);
}

/**
 * XState has no ask: emulated with an event carrying a `resolve` callback that a machine action
 * calls, awaited as a promise. The reply happens inside `send` (synchronous), so this is a
 * promise round trip around one XState transition — no mailbox, no scheduling, no timeout.
 */
const echoMachine = setup({
  types: { events: {} as { readonly type: 'ping'; readonly n: number; readonly reply: (n: number) => void } },
}).createMachine({
  on: { ping: { actions: ({ event }) => event.reply(event.n) } },
});

async function xstateAsks(n: number): Promise<RoundTrips> {
  const actor = createActor(echoMachine).start();
  try {
    const laps = new Laps(n);
    let wrong = 0;
    laps.start();
    for (let i = 0; i < n; i++) {
      const echoed = await new Promise<number>((reply) => actor.send({ type: 'ping', n: i, reply }));
      laps.lap();
      if (echoed !== i) wrong++;
    }
    return { laps, wrong, seconds: elapsed(laps) };
  } finally {
    actor.stop();
  }
}

interface NactPing {
  readonly n: number;
  readonly sender: Ref<number>;
}

/** `query(actor, (sender) => msg, 1000)` in a loop; the actor replies with `dispatch(msg.sender, …)`. */
async function nactAsks(n: number): Promise<RoundTrips> {
  const system = start();
  try {
    const echo = spawn(
      system,
      (state: null, msg: NactPing) => {
        dispatch(msg.sender, msg.n);
        return state;
      },
      'echo',
    );
    const laps = new Laps(n);
    let wrong = 0;
    laps.start();
    for (let i = 0; i < n; i++) {
      const echoed = await query(echo, (sender: Ref<number>) => ({ n: i, sender }), 1000);
      laps.lap();
      if (echoed !== i) wrong++;
    }
    return { laps, wrong, seconds: elapsed(laps) };
  } finally {
    stop(system);
  }
}

/** Seconds from `laps.start()` to the last lap: the sum of the laps. */
function elapsed(laps: Laps): number {
  let ns = 0;
  for (let i = 0; i < laps.count; i++) ns += laps.ns[i] ?? 0;
  return ns / 1e9;
}

function throughputAndP99(run: (n: number) => Promise<RoundTrips>) {
  return async (n: number): Promise<Measurement[]> => {
    const { laps, wrong, seconds } = await run(n);
    if (laps.count !== n) throw new Error(`${laps.count} round trips completed, expected ${n}`);
    if (wrong !== 0) throw new Error(`${wrong} of ${n} replies did not echo their request`);
    return [
      { metric: 'throughput', unit: 'asks/s', value: n / seconds },
      { metric: 'p99 latency', unit: 'µs', value: laps.percentileMicros(99) },
    ];
  };
}

export const s4Ask: Scenario = {
  id: 'S4',
  title: 'ask: 100,000 sequential request-reply round trips to an actor that replies at once',
  size: 100_000,
  warmupSize: 100_000,
  better: { throughput: 'higher', 'p99 latency': 'lower' },
  notes: [
    'One run gives both figures: throughput = round trips / seconds; p99 of the per-round-trip latencies, ' +
      'each the `process.hrtime.bigint()` interval from the previous reply to this one (one clock read per round trip). ' +
      'Every reply must echo its request number.',
    'troupe: `ref.ask((replyTo) => ping)` with the default 5 s timeout; the actor `replyTo.tell`s. ' +
      'Default mailbox (1024, `block`).',
    'effect: no ask primitive; a fiber serves a `Queue.bounded(1024)` (`take`, then `Deferred.succeed`); the client ' +
      '`Deferred.make` + `Queue.offer` + `Deferred.await` in an `Effect.whileLoop`. No timeout.',
    'xstate: no ask: **emulated** — the event carries a promise `resolve` that a machine action calls inside the ' +
      'synchronous `send`. A promise around one transition, with no mailbox, scheduling or timeout: a floor, not a peer ask.',
    'nact: `query(actor, (sender) => msg, 1000)`; the actor replies `dispatch(msg.sender, n)`. Each query arms and ' +
      'clears its own `setTimeout`; each message is handled in its own `setImmediate`.',
  ],
  systems: {
    troupe: throughputAndP99(troupeAsks),
    effect: throughputAndP99(effectAsks),
    xstate: throughputAndP99(xstateAsks),
    nact: throughputAndP99(nactAsks),
  },
};
