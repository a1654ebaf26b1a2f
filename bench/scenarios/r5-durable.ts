/**
 * R5: a durable topic on JetStream, 100,000 events published (each stored and acknowledged by
 * the server) and consumed with acknowledgement by one subscriber, against raw
 * @nats-io/jetstream doing the same in the same run. One process; a nats-server -js per child.
 */

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { durableTopic, joinCluster } from '@troupe/cluster';
import { ActorSystem } from '@troupe/runtime';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import type { Measurement, Scenario } from '../scenario.js';

/** Publishes in flight at once (both systems): each publish awaits the store's ack. */
const WINDOW = 256;
let server: Promise<NatsServer> | null = null;
let run = 0;

async function url(): Promise<string> {
  server ??= startNatsServer({ jetstream: true });
  return (await server).url;
}

async function publishAll(n: number, publish: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += WINDOW) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + WINDOW); j++) batch.push(publish(j));
    await Promise.all(batch);
  }
}

async function troupe(n: number): Promise<Measurement> {
  const system = ActorSystem.start({ name: 'r5' });
  try {
    const node = await joinCluster(system, { servers: await url(), cluster: `r5t${++run}`, node: 'a' });
    const orders = await durableTopic<{ type: 'e'; n: number }>(node, 'orders');
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    system.spawn(
      orders.subscriber({
        name: 'sink',
        start: 'all',
        maxAckPending: 256,
        initial: null,
        handle: (s) => {
          if (++handled === n) resolveDone();
          return s;
        },
      }),
      { mailbox: { capacity: 1024 } },
    );
    const start = process.hrtime.bigint();
    await publishAll(n, (i) => orders.publish({ type: 'e', n: i }));
    await done;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { metric: 'throughput', unit: 'events/s', value: n / seconds };
  } finally {
    await system.shutdown();
  }
}

async function raw(n: number): Promise<Measurement> {
  const nc = await connect({ servers: await url() });
  try {
    const stream = `R5RAW${++run}`;
    const subject = `r5raw.${run}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    await jsm.consumers.add(stream, {
      durable_name: 'sink',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 256,
      ack_wait: nanos(30_000),
    });
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream, 'sink');
    const messages = await consumer.consume({ max_messages: 256 });
    let handled = 0;
    const done = (async () => {
      for await (const m of messages) {
        m.json(); // the same decoding work
        m.ack();
        if (++handled === n) break;
      }
    })();
    const start = process.hrtime.bigint();
    await publishAll(n, (i) =>
      js.publish(subject, JSON.stringify({ type: 'e', n: i }), { msgID: globalThis.crypto.randomUUID() }),
    );
    await done;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await messages.stop();
    return { metric: 'throughput', unit: 'events/s', value: n / seconds };
  } finally {
    await nc.close();
  }
}

export const r5Durable: Scenario = {
  id: 'R5',
  title: 'durable topic: 100,000 events stored, then consumed with acknowledgement by one subscriber',
  size: 100_000,
  warmupSize: 10_000,
  better: 'higher',
  notes: [
    `From the first publish to the subscriber having handled all n. Both: ${WINDOW} publishes in flight, each awaiting ` +
      "JetStream's ack, with a dedupe id (msgID); a durable pull consumer, explicit ack, max_ack_pending 256, file storage.",
    'troupe: `durableTopic(...).publish` and a `subscriber` actor (each event acked after its handler returned).',
    'raw @nats-io/jetstream 3.4: `js.publish` and `consumer.consume()` with `m.json()` + `m.ack()`.',
  ],
  systems: { troupe, 'raw jetstream': raw },
};
