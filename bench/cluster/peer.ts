/**
 * Node B of the cluster benchmarks (R1, R2), in its own process: `troupe` joins the cluster and
 * serves a counter and an echo actor; `raw` does the same work with plain nats.js subscriptions.
 * Prints `ready` on stdout once it serves.
 *
 *   node --import tsx --conditions=@troupe/source bench/cluster/peer.ts <troupe|raw> <nats url>
 */
import { connect } from '@nats-io/transport-node';
import { clusterTopic, joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem, type Message, receive } from '@troupe/runtime';
import { COUNTER, type CounterMsg, ECHO, type EchoMsg, SLOW } from './keys.js';

async function troupe(url: string): Promise<void> {
  const system = ActorSystem.start({ name: 'b' });
  const node = await joinCluster(system, { servers: url, cluster: 'bench', node: 'b' });
  let count = 0;
  let expect = -1;
  let replyTo: ActorRef<Message> | null = null;
  const counter = system.spawn(
    receive<null, CounterMsg>(null, (s, m) => {
      if (m.type === 'start') {
        count = 0;
        expect = m.expect;
        replyTo = m.replyTo;
      } else if (++count === expect) replyTo?.tell({ type: 'done' });
      return s;
    }),
    // A tell to a full remote mailbox is a dead letter there, as locally: the mailbox holds the
    // bursts a whole socket read delivers at once (raw nats.js's subscription buffers them alike).
    { name: 'counter', mailbox: { capacity: 1_048_576 } },
  );
  const echo = system.spawn(
    receive<null, EchoMsg>(null, (s, m) => {
      m.replyTo.tell({ type: 'pong', n: m.n });
      return s;
    }),
    { name: 'echo' },
  );
  node.register(COUNTER, counter);
  node.register(ECHO, echo);
}

/** R3's node B: a consumer that takes 1 ms per message behind a 64-slot mailbox; prints its memory each second. */
async function slow(url: string): Promise<void> {
  const system = ActorSystem.start({ name: 'b' });
  const node = await joinCluster(system, { servers: url, cluster: 'bench', node: 'b' });
  let handled = 0;
  const consumer = system.spawn(
    receive<null, { type: 'n'; n: number }>(null, async (s) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      handled++;
      return s;
    }),
    { name: 'slow', mailbox: { capacity: 64 } },
  );
  node.register(SLOW, consumer);
  setInterval(() => {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ handled, heapUsed: m.heapUsed, rss: m.rss })}\n`);
  }, 1000).unref();
  setInterval(() => {}, 1 << 30); // keep running until killed
}

/** R4's subscriber nodes: `SUBSCRIBERS` counting subscribers; `bench.r4.start <n>` arms, `bench.r4.done` reports. */
const SUBSCRIBERS = 500;

async function troupeFanOut(url: string, name: string): Promise<void> {
  const system = ActorSystem.start({ name });
  const node = await joinCluster(system, { servers: url, cluster: 'bench-r4', node: name });
  const prices = await clusterTopic<{ type: 'price'; n: number }>(node, 'prices');
  let counted = 0;
  let expect = -1;
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const sub = system.spawn(
      receive<null, Message>(null, (s) => {
        if (++counted === expect) node.connection.publish('bench.r4.done', name);
        return s;
      }),
    );
    await prices.subscribe(sub, { onFull: 'block' }); // lossless
  }
  node.connection.subscribe('bench.r4.start', {
    callback: (_e, m) => {
      counted = 0;
      expect = Number(m.string()) * SUBSCRIBERS;
    },
  });
  await node.connection.flush();
}

async function rawFanOut(url: string, name: string): Promise<void> {
  const nc = await connect({ servers: url });
  let counted = 0;
  let expect = -1;
  for (let i = 0; i < SUBSCRIBERS; i++) {
    nc.subscribe('bench.r4.prices', {
      callback: (_e, m) => {
        m.json(); // each subscriber decodes its copy
        if (++counted === expect) nc.publish('bench.r4.done', name);
      },
    });
  }
  nc.subscribe('bench.r4.start', {
    callback: (_e, m) => {
      counted = 0;
      expect = Number(m.string()) * SUBSCRIBERS;
    },
  });
  await nc.flush();
}

async function raw(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  let count = 0;
  let expect = -1;
  nc.subscribe('bench.r1.start', {
    callback: (_e, m) => {
      count = 0;
      expect = Number(m.string());
    },
  });
  nc.subscribe('bench.r1', {
    callback: (_e, m) => {
      const message = m.json<{ type: string; n: number }>(); // the same decoding work as Troupe's
      if (message.type === 'n' && ++count === expect) nc.publish('bench.r1.done', String(count));
    },
  });
  nc.subscribe('bench.r2', {
    callback: (_e, m) => {
      const ping = m.json<{ type: string; n: number }>();
      m.respond(JSON.stringify({ type: 'pong', n: ping.n }));
    },
  });
  await nc.flush();
}

const [mode, url = ''] = process.argv.slice(2);
// The benchmark child that started us holds our stdin: when it ends (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
const runs: Record<string, () => Promise<void>> = {
  troupe: () => troupe(url),
  slow: () => slow(url),
  raw: () => raw(url),
  'troupe-r4': () => troupeFanOut(url, process.argv[4] ?? 'b'),
  'raw-r4': () => rawFanOut(url, process.argv[4] ?? 'b'),
};
await (runs[mode ?? ''] ?? (() => Promise.reject(new Error(`unknown mode ${mode}`))))();
process.stdout.write('ready\n');
