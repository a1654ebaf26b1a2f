/**
 * S6: restarts. An actor that throws on every message, under a supervisor that restarts it
 * (state back to initial, mailbox kept). S6: 10,000 messages sent with backpressure, so at most
 * a mailbox's worth (1024) is queued; S6q: 40,000 messages all queued before the actor handles
 * the first, so each restart happens with up to 40,000 messages behind it. The figure is
 * restarts per second; S6q must not be lower than S6 (restart cost must not grow with the queue).
 */
import { type ActorRef, ActorSystem, receive, supervisor } from '@troupe/runtime';
import { Effect, Fiber, Queue } from 'effect';
import { dispatch, spawn, start, stop } from 'nact';
import { pino } from 'pino';
import { createActor, setup } from 'xstate';
import { CAPACITY, Progress } from '../actors.js';
import { type Measurement, type Scenario, timed } from '../scenario.js';
import { Tally } from '../tally.js';

interface Work {
  readonly type: 'work';
  readonly n: number;
}

/** How a run feeds its `n` messages to the failing actor. */
interface Feed {
  /** Mailbox capacity (S6: 1024, as Troupe's default; S6q: 65,536, room for every message). */
  readonly capacity: number;
  /** Queue all messages before the actor handles the first (S6q), or send with backpressure (S6). */
  readonly queueFirst: boolean;
}

/**
 * What one run returns: the messages the handler saw (across incarnations, checked for order),
 * how many times the actor's state was (re)initialised, and the seconds from the first send to
 * the `n`-th restart.
 */
interface Restarts {
  readonly handled: Tally;
  readonly starts: number;
  readonly seconds: number;
}

/** The failure every system's handler throws: a fresh `Error` (with its stack) per message. */
function boom(): never {
  throw new Error('boom');
}

/**
 * A `receive` worker under a `oneForOne` supervisor (intensity 1,000,000 restarts per second), on
 * a system with a silent pino logger: each failure logs at error and each restart at warn, and
 * we measure the runtime, not log I/O. Nobody subscribes to `system.events`, so the events are
 * not built. `onStart` counts incarnations (the first, plus one per restart).
 */
async function troupeRestarts(n: number, feed: Feed): Promise<Restarts> {
  const system = ActorSystem.start({ name: 'bench-s6', logger: pino({ level: 'silent' }) });
  try {
    const handled = new Tally();
    const starts = new Progress();
    const worker = receive<null, Work>(
      null,
      (_state, msg) => {
        handled.add(msg.n);
        return boom();
      },
      {
        onStart: () => {
          starts.bump();
          return null;
        },
      },
    );
    const sup = system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 1_000_000, withinMs: 1000 },
        children: [{ id: 'w', behavior: worker, mailbox: { capacity: feed.capacity } }],
      }),
      { name: 'sup' },
    );
    const w = system.lookup('/user/sup/w') as ActorRef<Work> | undefined;
    if (w === undefined) throw new Error('troupe: the supervisor has no child w');

    const { seconds } = await timed(async () => {
      for (let i = 0; i < n; i++) {
        const msg: Work = { type: 'work', n: i };
        if (feed.queueFirst) {
          if (!w.trySend(msg).ok) throw new Error(`troupe: message ${i} did not fit in the mailbox`);
        } else if (!w.trySend(msg).ok) {
          await w.send(msg);
        }
      }
      await starts.reached(n + 1);
    });

    const ws = system.inspect(w);
    const ss = system.inspect(sup);
    if (ws?.restarts !== n || ws.failed !== n || ws.status !== 'running')
      throw new Error(`troupe: worker ${JSON.stringify(ws)}, expected ${n} restarts and failures, running`);
    if (ss?.status !== 'running') throw new Error(`troupe: supervisor is ${ss?.status}`);
    return { handled, starts: starts.count, seconds };
  } finally {
    await system.shutdown();
  }
}

/**
 * Effect has no supervisor: the "fiber actor" is a `Queue.bounded` mailbox and a forked fiber
 * looping `Effect.forever` over `Queue.take` and the handler in `Effect.try` (the throw becomes
 * a typed failure), with `Effect.catch` re-creating the state after each failure: the mailbox
 * survives, the state does not. (Wrapping one incarnation — `Effect.suspend` with fresh state —
 * in `Effect.retry({ while: () => true })` is the same restart, and measured ~20% slower.)
 */
function effectRestarts(n: number, feed: Feed): Promise<Restarts> {
  const handled = new Tally();
  const starts = new Progress();
  const program = Effect.gen(function* () {
    const mailbox = yield* Queue.bounded<Work>(feed.capacity);
    starts.bump();
    let state = { messages: 0 };
    const supervised = Effect.forever(
      Effect.flatMap(Queue.take(mailbox), (msg) =>
        Effect.try(() => {
          state.messages++;
          handled.add(msg.n);
          return boom();
        }).pipe(
          Effect.catch(() =>
            Effect.sync(() => {
              starts.bump();
              state = { messages: 0 };
            }),
          ),
        ),
      ),
    );

    const started = process.hrtime.bigint();
    let i = 0;
    const offerAll = Effect.whileLoop({
      while: () => i < n,
      body: () => Queue.offer(mailbox, { type: 'work', n: i }),
      step: () => {
        i++;
      },
    });
    let worker: Fiber.Fiber<never>;
    if (feed.queueFirst) {
      yield* offerAll;
      if (Queue.sizeUnsafe(mailbox) !== n) throw new Error('effect: not every message was queued');
      worker = yield* Effect.forkChild(supervised);
    } else {
      worker = yield* Effect.forkChild(supervised);
      yield* offerAll;
    }
    yield* Effect.promise(() => starts.reached(n + 1));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    yield* Fiber.interrupt(worker);
    return seconds;
  });
  return Effect.runPromise(program).then((seconds) => ({ handled, starts: starts.count, seconds }));
}

/**
 * nact: an actor whose `onCrash` returns `ctx.reset` (state back to `initialStateFunc`, mailbox
 * kept: nact's restart). nact's mailbox is unbounded: in S6 the driver keeps at most 1024
 * messages outstanding (waiting for restarts to catch up to half of that), as a bounded
 * mailbox would; in S6q it dispatches all before the actor runs.
 */
async function nactRestarts(n: number, feed: Feed): Promise<Restarts> {
  const system = start();
  try {
    const handled = new Tally();
    const starts = new Progress();
    const worker = spawn(
      system,
      (_state: number, msg: Work): number => {
        handled.add(msg.n);
        return boom();
      },
      'worker',
      {
        initialStateFunc: () => {
          starts.bump();
          return 0;
        },
        onCrash: (_msg, _error, ctx) => ctx.reset,
      },
    );
    const { seconds } = await timed(async () => {
      for (let i = 0; i < n; i++) {
        // starts.count - 1 restarts so far: one per message handled.
        if (!feed.queueFirst && i - (starts.count - 1) >= feed.capacity)
          await starts.reached(i - feed.capacity / 2 + 1);
        dispatch(worker, { type: 'work', n: i });
      }
      await starts.reached(n + 1);
    });
    return { handled, starts: starts.count, seconds };
  } finally {
    stop(system);
  }
}

/** The failing machine: its one transition runs an action that throws; the actor then errors. */
function failingMachine(handled: Tally, starts: Progress) {
  return setup({
    types: { events: {} as Work },
    actions: {
      work: ({ event }) => {
        handled.add(event.n);
        boom();
      },
    },
  }).createMachine({
    id: 'worker',
    context: () => {
      starts.bump();
      return {};
    },
    on: { work: { actions: 'work' } },
  });
}

/**
 * XState has no supervision and no restart: an action that throws puts the actor in its `error`
 * state for good, and it drops every later event (including any it had queued). The driver
 * watches the error (`subscribe({ error })`), then creates and starts a new actor from the
 * machine. The mailbox cannot survive, so the driver holds the messages (S6q: an array of
 * 40,000 built first) and sends the next to the current actor.
 */
async function xstateRestarts(n: number, feed: Feed): Promise<Restarts> {
  const handled = new Tally();
  const starts = new Progress();
  const machine = failingMachine(handled, starts);
  let errors = 0;
  const observer = {
    error: () => {
      errors++;
    },
  };
  const incarnation = () => {
    const actor = createActor(machine);
    actor.subscribe(observer);
    return actor.start();
  };
  const { seconds } = await timed(async () => {
    let actor = incarnation();
    const queued: Work[] = [];
    if (feed.queueFirst) for (let i = 0; i < n; i++) queued.push({ type: 'work', n: i });
    for (let i = 0; i < n; i++) {
      const seen = errors;
      actor.send(feed.queueFirst ? (queued[i] as Work) : { type: 'work', n: i });
      if (errors !== seen) actor = incarnation();
    }
  });
  if (errors !== n) throw new Error(`xstate: ${errors} errors, expected ${n}`);
  return { handled, starts: starts.count, seconds };
}

function restartRate(feed: Feed, run: (n: number, feed: Feed) => Promise<Restarts>) {
  return async (n: number): Promise<Measurement> => {
    const { handled, starts, seconds } = await run(n, feed);
    handled.verify(n, 'handler');
    if (starts !== n + 1) throw new Error(`${starts} incarnations, expected ${n + 1} (1 + one per message)`);
    return { metric: 'throughput', unit: 'restarts/s', value: n / seconds };
  };
}

function restartScenario(id: string, size: number, warmupSize: number, feed: Feed): Scenario {
  const fmt = (x: number) => x.toLocaleString('en-US');
  const how = feed.queueFirst
    ? 'all queued before the first is handled'
    : 'sent with backpressure (at most 1024 queued)';
  return {
    id,
    title: `restarts: an actor that throws on every message, restarted each time, ${fmt(size)} messages ${how}`,
    size,
    warmupSize,
    better: 'higher',
    notes: [
      'Figure = messages / seconds, each message one failure and one restart; timed from the first send to the last ' +
        'restart. The handler throws a fresh `Error` in every system; every system must have handled every message once, ' +
        'in order, across incarnations, and (re)initialised its state 1 + messages times.',
      feed.queueFirst
        ? 'All messages are queued (mailbox of 65,536) before the actor handles the first: each restart happens with up ' +
          'to 40,000 messages behind it. Compare with S6: the rate must not fall with queue length.'
        : 'Messages are sent with backpressure into a mailbox of 1024 (`trySend`, awaiting `send` when full, or the ' +
          "peer's equivalent), so at most 1024 are queued.",
      "troupe: `receive` worker as the child of `supervisor({ strategy: 'oneForOne', intensity: 1,000,000 / 1000 ms })`, " +
        'restarted in place (same ref, mailbox kept, state from `onStart`). The system logs through `pino({ level: ' +
        "'silent' })`: every failure logs at error and every restart at warn, and this measures the runtime, not log I/O. " +
        'Nobody subscribes to `system.events`, so events are not built. Checked after: `inspect(worker)` shows n restarts ' +
        'and n failures, worker and supervisor running.',
      'effect: no supervisor; hand-rolled: a `Queue.bounded` mailbox and a forked fiber looping `Effect.forever` over ' +
        '`Queue.take` + the handler in `Effect.try`, with `Effect.catch` re-creating the state after each failure; the ' +
        'queue survives restarts. (An incarnation in `Effect.suspend` wrapped in `Effect.retry({ while: () => true })` is ' +
        `the same restart and measured ~20% slower.) ${feed.queueFirst ? 'All messages are offered before the fiber is forked.' : '`Queue.offer` suspends while the queue is full.'}`,
      "nact: `onCrash: (msg, err, ctx) => ctx.reset` (nact's restart: state from `initialStateFunc`, mailbox kept). Its " +
        (feed.queueFirst
          ? 'mailbox is unbounded; all messages are dispatched before the actor runs. nact copies the whole mailbox ' +
            '(`mailbox.toArray()`) into the supervision context of every crash, so its crash cost grows with the queue.'
          : 'mailbox is unbounded; the driver keeps at most 1024 messages outstanding (it waits for restarts to catch up ' +
            'to half of that), as a bounded mailbox would.'),
      'xstate: no supervision or restart: an action that throws leaves the actor in `error` for good, dropping what it ' +
        'had queued, so the driver (watching `subscribe({ error })`) creates and starts a new actor after each failure ' +
        'and sends it the next message; the mailbox cannot survive, so the driver holds the messages' +
        (feed.queueFirst ? ' (an array of 40,000, built inside the timed region).' : '.') +
        ' Synchronous: no scheduling, no mailbox.',
      ...(feed.queueFirst
        ? [
            'Warm-up 3 × 5,000 messages (queued first) rather than 40,000: nact alone takes ~10 s for the measured 40,000.',
          ]
        : []),
    ],
    systems: {
      troupe: restartRate(feed, troupeRestarts),
      effect: restartRate(feed, effectRestarts),
      nact: restartRate(feed, nactRestarts),
      xstate: restartRate(feed, xstateRestarts),
    },
  };
}

export const s6Restarts = restartScenario('S6', 10_000, 10_000, { capacity: CAPACITY, queueFirst: false });

export const s6qRestartsQueued = restartScenario('S6q', 40_000, 5_000, {
  capacity: 65_536,
  queueFirst: true,
});
