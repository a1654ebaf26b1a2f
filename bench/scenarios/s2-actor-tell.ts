/**
 * S2: 1,000,000 messages to one counting actor, lossless; the run ends with a request for the
 * count, which must equal the number sent.
 */
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ActorSystem, type ActorSystemOptions, receive } from '@troupe/runtime';
import { Deferred, Effect, Fiber, Queue } from 'effect';
import { dispatch, query, type Ref, spawn, start, stop } from 'nact';
import { createActor } from 'xstate';
import { CAPACITY, type CounterMsg, counterMachine, driveCounter, expectCount, INC } from '../actors.js';
import { type Measurement, type Scenario, timed } from '../scenario.js';

/** A `receive` counter with the default mailbox (1024, `block`); `trySend`, awaiting `send` only when full. */
async function troupeCounter(n: number, options: Partial<ActorSystemOptions> = {}): Promise<number> {
  const system = ActorSystem.start({ name: 'bench-s2', ...options });
  try {
    const counter = system.spawn(
      receive<number, CounterMsg>(0, (count, msg) => {
        if (msg.type === 'inc') return count + 1;
        msg.replyTo.tell({ type: 'count', n: count });
        return count;
      }),
    );
    return await driveCounter(counter, n);
  } finally {
    await system.shutdown();
  }
}

/** An exporter that drops what it is given: the figure is the cost of making and ending the spans. */
const discard: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

/** The same counter with tracing on, on the SDK (batching processor, spans discarded at export). */
async function troupeTracedCounter(n: number): Promise<number> {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] });
  try {
    return await troupeCounter(n, { tracing: { tracer: provider.getTracer('bench') } });
  } finally {
    await provider.shutdown();
  }
}

type EffectCounterMsg =
  | { readonly type: 'inc' }
  | { readonly type: 'get'; readonly reply: Deferred.Deferred<number> };

/**
 * The "fiber actor": a `Queue.bounded(1024)` mailbox and a forked fiber that loops `takeAll`,
 * counting, and completes a `Deferred` for `get`. The producer `offer`s (suspending while full)
 * in an `Effect.whileLoop`, then offers `get` and awaits its `Deferred`.
 */
function effectCounter(n: number): Promise<number> {
  const program = Effect.gen(function* () {
    const mailbox = yield* Queue.bounded<EffectCounterMsg>(CAPACITY);
    let count = 0;
    const handle = (batch: readonly EffectCounterMsg[]) => {
      let replies: Effect.Effect<boolean>[] | undefined;
      for (const msg of batch) {
        if (msg.type === 'inc') {
          count++;
        } else {
          replies ??= [];
          replies.push(Deferred.succeed(msg.reply, count));
        }
      }
      return replies === undefined ? Effect.void : Effect.all(replies, { discard: true });
    };
    const actor = yield* Effect.forkChild(
      Effect.whileLoop({
        while: () => true,
        body: () => Effect.flatMap(Queue.takeAll(mailbox), handle),
        step: () => {},
      }),
    );

    // Timed inside the program (as `timed()` does outside), so creating the queue and forking
    // the actor stay out of the figure, as spawning does for the other systems.
    const started = process.hrtime.bigint();
    let i = 0;
    yield* Effect.whileLoop({
      while: () => i < n,
      body: () => Queue.offer(mailbox, INC),
      step: () => {
        i++;
      },
    });
    const reply = yield* Deferred.make<number>();
    yield* Queue.offer(mailbox, { type: 'get', reply });
    const result = yield* Deferred.await(reply);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    yield* Fiber.interrupt(actor);
    return { result, seconds };
  });
  return Effect.runPromise(program).then(({ result, seconds }) => {
    expectCount(result, n, 'effect');
    return seconds;
  });
}

/** `createActor(machine).send` in a loop: synchronous, each event handled inside `send`; no mailbox bound. */
export async function xstateCounter(n: number): Promise<number> {
  const actor = createActor(counterMachine).start();
  const { result, seconds } = await timed(async () => {
    for (let i = 0; i < n; i++) actor.send(INC);
    return actor.getSnapshot().context.count;
  });
  actor.stop();
  expectCount(result, n, 'xstate');
  return seconds;
}

type NactCounterMsg = { readonly type: 'inc' } | { readonly type: 'get'; readonly sender: Ref<number> };

/** `spawn` a counting actor, `dispatch` every message (unbounded mailbox), `query` the count. */
async function nactCounter(n: number): Promise<number> {
  const system = start();
  try {
    const counter = spawn(
      system,
      (count: number, msg: NactCounterMsg) => {
        if (msg.type === 'inc') return count + 1;
        dispatch(msg.sender, count);
        return count;
      },
      'counter',
      { initialState: 0 },
    );
    const { result, seconds } = await timed(async () => {
      for (let i = 0; i < n; i++) dispatch(counter, INC);
      return query(counter, (sender: Ref<number>) => ({ type: 'get' as const, sender }), 60_000);
    });
    expectCount(result, n, 'nact');
    return seconds;
  } finally {
    stop(system);
  }
}

/** Turns a run that returns its seconds into a throughput figure. */
export function msgsPerSecond(run: (n: number) => Promise<number>) {
  return async (n: number): Promise<Measurement> => {
    const seconds = await run(n);
    return { metric: 'throughput', unit: 'msgs/s', value: n / seconds };
  };
}

export const s2ActorTell: Scenario = {
  id: 'S2',
  title: 'actor tell: 1,000,000 messages to one counting actor, lossless, then ask for the count',
  size: 1_000_000,
  warmupSize: 100_000,
  better: 'higher',
  notes: [
    'Every run ends with a request for the count (inside the timed region), which must equal the messages sent.',
    'troupe: `receive` counter, default mailbox (1024, `block`); `trySend`, awaiting `send` only when full; `ask` for the count.',
    'effect: "fiber actor": `Queue.bounded(1024)` mailbox, a forked fiber looping `Queue.takeAll` and counting; ' +
      '`Queue.offer` (suspends while full) in an `Effect.whileLoop`; `get` carries a `Deferred` the actor completes.',
    'xstate: `createActor(machine).send` in a loop, the machine counting with `assign`. XState is synchronous ' +
      '(each event handled inside `send`) and its queue unbounded: no mailbox, no scheduling, no backpressure.',
    'nact: `spawn` + `dispatch` (unbounded mailbox, no backpressure; each message handled in its own `setImmediate`), ' +
      'then `query` for the count.',
    'troupe-traced: the troupe counter with `tracing` on, on the OpenTelemetry SDK (`BasicTracerProvider`, ' +
      '`BatchSpanProcessor`, spans discarded at export): one span per message.',
    'Warm-up 3 × 100,000 messages rather than 3 × 1,000,000, to keep nact and xstate (~1.5 µs/message) within the time budget.',
  ],
  systems: {
    troupe: msgsPerSecond((n) => troupeCounter(n)),
    'troupe-traced': msgsPerSecond(troupeTracedCounter),
    effect: msgsPerSecond(effectCounter),
    xstate: msgsPerSecond(xstateCounter),
    nact: msgsPerSecond(nactCounter),
  },
};
