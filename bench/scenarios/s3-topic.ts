/**
 * S3: topic fan-out. One publisher -> a topic -> N subscribers, lossless: every subscriber must
 * receive every event, in order. S3a: 1,000 subscribers × 1,000 events; S3b: 10 subscribers ×
 * 100,000 events. The figure counts deliveries (subscribers × events).
 */
import { EventEmitter } from 'node:events';
import { Topic, type Lagged as TopicLagged, topic } from '@troupe/actors';
import { ActorSystem, receive } from '@troupe/runtime';
import { Effect, Fiber, PubSub } from 'effect';
import { Subject } from 'rxjs';
import { createActor, emit, setup } from 'xstate';
import { CAPACITY, Progress } from '../actors.js';
import { type Measurement, type Scenario, timed } from '../scenario.js';
import { Tally } from '../tally.js';

/** The published event: a fresh object per publish, for every system. */
interface Tick {
  readonly type: 'tick';
  readonly n: number;
}

/** What one run returns: a tally per subscriber and the seconds the workload took. */
interface FanOut {
  readonly tallies: readonly Tally[];
  readonly seconds: number;
}

type Run = (subscribers: number, events: number) => Promise<FanOut>;

/**
 * A `topic` actor and `receive` subscribers, all with the default mailbox (1024, `block`); each
 * subscription is `onFull: 'block'`, so a full subscriber makes the topic wait, which fills the
 * topic's mailbox, which makes the publisher wait (`trySend`, awaiting `send` only when full).
 */
async function troupeTopic(subscribers: number, events: number): Promise<FanOut> {
  const system = ActorSystem.start({ name: 'bench-s3' });
  try {
    const bus = system.spawn(topic<Tick>());
    const finished = new Progress();
    let lagged = 0;
    const tallies: Tally[] = [];
    const subscribing: Promise<void>[] = [];
    for (let s = 0; s < subscribers; s++) {
      const tally = new Tally();
      tallies.push(tally);
      const sub = system.spawn(
        receive<Tally, Tick | TopicLagged>(tally, (t, m) => {
          if (m.type === 'tick') {
            t.add(m.n);
            if (t.count === events) finished.bump();
          } else {
            lagged += m.missed;
          }
          return t;
        }),
      );
      subscribing.push(Topic.subscribe(bus, sub, { onFull: 'block' }));
    }
    await Promise.all(subscribing);

    const { seconds } = await timed(async () => {
      for (let i = 0; i < events; i++) {
        const event: Tick = { type: 'tick', n: i };
        if (!bus.trySend(event).ok) await bus.send(event);
      }
      await finished.reached(subscribers);
    });

    if (lagged !== 0) throw new Error(`troupe: subscribers were told they missed ${lagged} events`);
    const stats = await Topic.stats(bus);
    if (stats.published !== events)
      throw new Error(`troupe: topic published ${stats.published}, expected ${events}`);
    if (stats.subscriptions.length !== subscribers)
      throw new Error(`troupe: ${stats.subscriptions.length} subscriptions, expected ${subscribers}`);
    for (const s of stats.subscriptions) {
      if (s.delivered !== events || s.missed !== 0)
        throw new Error(`troupe: ${s.subscriber} delivered ${s.delivered}, missed ${s.missed}`);
    }
    return { tallies, seconds };
  } finally {
    await system.shutdown();
  }
}

/** Effect's final message (`PubSub.end`): never a real event. */
const END: Tick = { type: 'tick', n: -1 };

/**
 * `PubSub.bounded(1024)` back-pressures the publisher (`publish` suspends while a subscriber is
 * 1024 behind); each subscriber is a fiber looping `PubSub.take` until the `PubSub.end` final
 * message. The subscriptions and fibers are set up before the clock starts, as Troupe's actors
 * and subscriptions are.
 */
function effectPubSub(subscribers: number, events: number): Promise<FanOut> {
  const program = Effect.gen(function* () {
    const pubsub = yield* PubSub.bounded<Tick>(CAPACITY);
    const subscriptions = yield* Effect.all(
      Array.from({ length: subscribers }, () => PubSub.subscribe(pubsub)),
    );
    const receive = (subscription: PubSub.Subscription<Tick>) => {
      const tally = new Tally();
      let ended = false;
      return Effect.whileLoop({
        while: () => !ended,
        body: () => PubSub.take(subscription),
        step: (e) => {
          if (e === END) ended = true;
          else tally.add(e.n);
        },
      }).pipe(Effect.as(tally));
    };
    const fibers = yield* Effect.all(subscriptions.map((s) => Effect.forkChild(receive(s))));

    const started = process.hrtime.bigint();
    let i = 0;
    yield* Effect.whileLoop({
      while: () => i < events,
      body: () => PubSub.publish(pubsub, { type: 'tick' as const, n: i }),
      step: () => {
        i++;
      },
    });
    yield* PubSub.end(pubsub, END);
    const tallies = yield* Fiber.joinAll(fibers);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { tallies, seconds };
  });
  return Effect.runPromise(Effect.scoped(program));
}

const topicMachine = setup({
  types: { events: {} as Tick, emitted: {} as Tick },
}).createMachine({
  id: 'topic',
  on: { tick: { actions: emit(({ event }) => event) } },
});

/** A subscriber machine: a plain action adds each event to the `Tally` its input gives it. */
const subscriberMachine = setup({
  types: { context: {} as { tally: Tally }, input: {} as { tally: Tally }, events: {} as Tick },
  actions: {
    count: ({ context, event }) => {
      context.tally.add(event.n);
    },
  },
}).createMachine({
  id: 'subscriber',
  context: ({ input }) => ({ tally: input.tally }),
  on: { tick: { actions: 'count' } },
});

/**
 * XState's event-emitter pattern: a topic actor `emit`s every event it is sent; each subscriber
 * actor is hooked with `topic.on('tick', (e) => subscriber.send(e))`. Synchronous: every event
 * reaches every subscriber inside `topic.send`; no mailbox bound.
 */
async function xstateEmitter(subscribers: number, events: number): Promise<FanOut> {
  const bus = createActor(topicMachine).start();
  const tallies: Tally[] = [];
  const actors = [];
  for (let s = 0; s < subscribers; s++) {
    const tally = new Tally();
    tallies.push(tally);
    const sub = createActor(subscriberMachine, { input: { tally } }).start();
    actors.push(sub);
    bus.on('tick', (e) => sub.send(e));
  }
  const { seconds } = await timed(async () => {
    for (let i = 0; i < events; i++) bus.send({ type: 'tick', n: i });
  });
  bus.stop();
  for (const a of actors) a.stop();
  return { tallies, seconds };
}

/** An RxJS `Subject`: `next` calls every subscriber synchronously; no buffer, no backpressure. */
async function rxjsSubject(subscribers: number, events: number): Promise<FanOut> {
  const subject = new Subject<Tick>();
  const tallies: Tally[] = [];
  for (let s = 0; s < subscribers; s++) {
    const tally = new Tally();
    tallies.push(tally);
    subject.subscribe((e) => tally.add(e.n));
  }
  const { seconds } = await timed(async () => {
    for (let i = 0; i < events; i++) subject.next({ type: 'tick', n: i });
    subject.complete();
  });
  return { tallies, seconds };
}

/** A Node `EventEmitter`: `emit` calls every listener synchronously; no buffer, no backpressure. */
async function nodeEmitter(subscribers: number, events: number): Promise<FanOut> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const tallies: Tally[] = [];
  for (let s = 0; s < subscribers; s++) {
    const tally = new Tally();
    tallies.push(tally);
    emitter.on('tick', (e: Tick) => tally.add(e.n));
  }
  const { seconds } = await timed(async () => {
    for (let i = 0; i < events; i++) emitter.emit('tick', { type: 'tick', n: i });
  });
  emitter.removeAllListeners();
  return { tallies, seconds };
}

function deliveryRate(subscribers: number, run: Run) {
  return async (events: number): Promise<Measurement> => {
    const { tallies, seconds } = await run(subscribers, events);
    if (tallies.length !== subscribers)
      throw new Error(`${tallies.length} subscribers finished, expected ${subscribers}`);
    for (const [i, tally] of tallies.entries()) tally.verify(events, `subscriber ${i}`);
    return { metric: 'throughput', unit: 'deliveries/s', value: (subscribers * events) / seconds };
  };
}

function topicScenario(
  id: string,
  subscribers: number,
  events: number,
  warmupEvents: number,
  extraNotes: readonly string[],
): Scenario {
  const fmt = (x: number) => x.toLocaleString('en-US');
  return {
    id,
    title: `topic fan-out: 1 publisher -> topic -> ${fmt(subscribers)} subscribers, ${fmt(events)} events, lossless`,
    size: events,
    warmupSize: warmupEvents,
    better: 'higher',
    notes: [
      `Figure = ${fmt(subscribers)} subscribers × events / seconds; every subscriber checks it got every event in order. ` +
        'Each event is a fresh `{ type, n }` object in every system. Subscribers are created and subscribed before the clock starts.',
      'troupe: `topic()` actor and `receive` subscribers, all with the default mailbox (1024, `block`); subscriptions ' +
        "`onFull: 'block'` (lossless bounded: a full subscriber makes the topic wait, a full topic makes the publisher wait); " +
        'the publisher `trySend`s, awaiting `send` only when full. Each subscriber bumps a counter when it has all events; ' +
        'the run ends when all have. Then `Topic.stats` must show every subscription delivered = events, missed = 0, ' +
        'and no subscriber may have received `Lagged`.',
      'effect: `PubSub.bounded(1024)` (`publish` suspends while any subscriber is 1024 behind: lossless by backpressure); ' +
        'each subscriber a forked fiber looping `PubSub.take` until the `PubSub.end` final message.',
      'xstate: event-emitter pattern: a topic actor `emit`s each event it is sent, and each subscriber actor is hooked with ' +
        "`topic.on('tick', (e) => sub.send(e))`; the subscriber machine counts in a plain action. Synchronous and unbounded: " +
        'no mailbox, no scheduling, no backpressure.',
      'rxjs `Subject` and Node `EventEmitter`: synchronous, unbuffered calls of every subscriber inside `next`/`emit`, with no ' +
        'actor, mailbox, isolation or backpressure: the limit of what a fan-out in one thread can do, not peers.',
      ...extraNotes,
    ],
    systems: {
      troupe: deliveryRate(subscribers, troupeTopic),
      effect: deliveryRate(subscribers, effectPubSub),
      xstate: deliveryRate(subscribers, xstateEmitter),
      rxjs: deliveryRate(subscribers, rxjsSubject),
      emitter: deliveryRate(subscribers, nodeEmitter),
    },
  };
}

export const s3aTopicFanOut = topicScenario('S3a', 1000, 1000, 500, [
  'Warm-up 3 × 500 events rather than 3 × 1,000, to keep the scenario within the time budget (XState takes ~1.7 s per ' +
    '1,000 events here); Troupe measured the same with either.',
]);

export const s3bTopicFanOut = topicScenario('S3b', 10, 100_000, 20_000, [
  'Warm-up 3 × 20,000 events rather than 3 × 100,000, to keep the scenario within the time budget.',
]);
