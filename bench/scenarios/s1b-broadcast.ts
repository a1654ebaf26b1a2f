/**
 * S1b: one sender -> 10 receivers through a broadcast of capacity 1024, 100,000 values, lossless:
 * every receiver must see every value, in order. The figure counts deliveries (10 × values).
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import * as troupe from '@troupe/runtime';
import { Effect, PubSub } from 'effect';
import { type Scenario, timed } from '../scenario.js';
import { Tally } from '../tally.js';

const CAPACITY = 1024;
const RECEIVERS = 10;
/**
 * Troupe's broadcast never makes the sender wait; a receiver that falls `CAPACITY` behind lags.
 * The sender yields to the event loop every half ring so receivers catch up (lossless by pacing).
 */
const PACE = CAPACITY / 2;
/** Effect's final message (`PubSub.end`): never a real value. */
const END = -1;

async function troupeBroadcast(n: number): Promise<Tally[]> {
  const [tx, first] = troupe.broadcast<number>(CAPACITY);
  const receivers = [first];
  while (receivers.length < RECEIVERS) receivers.push(tx.subscribe());

  const send = async (): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const reached = tx.send(i);
      if (reached !== RECEIVERS) throw new Error(`send ${i} reached ${reached} receivers`);
      if ((i + 1) % PACE === 0) await nextMacrotask();
    }
    tx.close();
  };

  const receive = async (rx: typeof first): Promise<Tally> => {
    const tally = new Tally();
    for (;;) {
      const r = rx.tryRecv();
      if (r.ok) {
        tally.add(r.value);
        continue;
      }
      if (r.reason === 'closed') return tally;
      if (r.reason === 'lagged') throw new Error(`receiver lagged by ${r.skipped}`);
      const w = await rx.recv();
      if (w.ok) tally.add(w.value);
      else if (w.reason === 'closed') return tally;
      else
        throw new Error(`recv ended early: ${w.reason === 'lagged' ? `lagged by ${w.skipped}` : w.reason}`);
    }
  };

  const [, ...tallies] = await Promise.all([send(), ...receivers.map(receive)]);
  return tallies;
}

/**
 * `PubSub.bounded` makes `publish` suspend while any subscriber is `CAPACITY` behind, so it is
 * lossless without pacing. `PubSub.end(pubsub, END)` delivers a final message after everything
 * buffered; each subscriber `take`s until it sees it. (`takeAll` is the batch form, but here its
 * batches hold ~1 value and it measured ~8x slower than `take`, so the faster form is used.)
 */
function effectBroadcast(n: number): Promise<Tally[]> {
  const program = Effect.gen(function* () {
    const pubsub = yield* PubSub.bounded<number>(CAPACITY);
    const subscriptions = yield* Effect.all(
      Array.from({ length: RECEIVERS }, () => PubSub.subscribe(pubsub)),
    );

    // A refused publish (pubsub ended) would show up as a missing value in the tallies.
    let i = 0;
    const publish = Effect.whileLoop({
      while: () => i < n,
      body: () => PubSub.publish(pubsub, i),
      step: () => {
        i++;
      },
    }).pipe(Effect.andThen(PubSub.end(pubsub, END)));

    const receive = (subscription: PubSub.Subscription<number>) => {
      const tally = new Tally();
      let ended = false;
      return Effect.whileLoop({
        while: () => !ended,
        body: () => PubSub.take(subscription),
        step: (v) => {
          if (v === END) ended = true;
          else tally.add(v);
        },
      }).pipe(Effect.as(tally));
    };

    const [, tallies] = yield* Effect.all(
      [publish, Effect.all(subscriptions.map(receive), { concurrency: 'unbounded' })],
      { concurrency: 'unbounded' },
    );
    return tallies;
  });
  return Effect.runPromise(Effect.scoped(program));
}

function deliveryRate(run: (n: number) => Promise<Tally[]>) {
  return async (n: number) => {
    const { result, seconds } = await timed(() => run(n));
    if (result.length !== RECEIVERS)
      throw new Error(`${result.length} receivers finished, expected ${RECEIVERS}`);
    for (const [i, tally] of result.entries()) tally.verify(n, `receiver ${i}`);
    return { metric: 'throughput', unit: 'deliveries/s', value: (RECEIVERS * n) / seconds };
  };
}

export const s1bBroadcast: Scenario = {
  id: 'S1b',
  title: 'broadcast: 1 sender -> 10 receivers, capacity 1024, 100,000 values, lossless',
  size: 100_000,
  warmupSize: 100_000,
  better: 'higher',
  notes: [
    'Figure = 10 receivers × values / seconds; every receiver checks it got every value in order.',
    'troupe: `send` never waits (a slow receiver lags instead), so the sender yields to the event loop ' +
      '(`setImmediate`) every 512 values to stay lossless; a `lagged` result fails the run.',
    'effect: `PubSub.bounded(1024)` back-pressures the publisher (`publish` suspends while a subscriber ' +
      'is 1024 behind), so it needs no pacing; subscribers `PubSub.take` one value at a time until the `PubSub.end` ' +
      'final message. `PubSub.takeAll` got batches of ~1 value here and measured ~8× slower, so `take` is used.',
  ],
  systems: { troupe: deliveryRate(troupeBroadcast), effect: deliveryRate(effectBroadcast) },
};
