/**
 * R1, R2: Troupe's cluster between two processes on loopback NATS, against raw nats.js doing the
 * same work in the same run. Each benchmark child starts (once) its own nats-server and a peer
 * process (bench/cluster/peer.ts) playing node B; this process is node A.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { type ClusterNode, joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem, type Message } from '@troupe/runtime';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { Laps } from '../actors.js';
import { COUNTER, type CounterMsg, ECHO, type EchoMsg } from '../cluster/keys.js';
import type { Measurement, Scenario } from '../scenario.js';

const PEER = fileURLToPath(new URL('../cluster/peer.ts', import.meta.url));
/** The producer yields to the event loop every this many messages (both systems alike). */
const YIELD_EVERY = 8192;

let server: Promise<NatsServer> | null = null;
const peers = new Map<string, Promise<ChildProcess>>();

function natsServer(): Promise<NatsServer> {
  server ??= startNatsServer();
  return server;
}

function peer(mode: 'troupe' | 'raw'): Promise<ChildProcess> {
  let p = peers.get(mode);
  if (p === undefined) {
    p = natsServer().then(
      (s) =>
        new Promise<ChildProcess>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', '--conditions=@troupe/source', PEER, mode, s.url],
            // Pipes only to this child (never the harness's own): a stdin EOF tells the peer this
            // child died, even by SIGKILL, so no orphan holds the harness's output open.
            { stdio: ['pipe', 'pipe', 'pipe'] },
          );
          child.stderr?.pipe(process.stderr);
          child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
          child.once('exit', (code) => reject(new Error(`peer ${mode} exited with ${code}`)));
          process.once('exit', () => child.kill('SIGKILL'));
        }),
    );
    peers.set(mode, p);
  }
  return p;
}

let nodeA: Promise<{ node: ClusterNode; counter: ActorRef<CounterMsg>; echo: ActorRef<EchoMsg> }> | null =
  null;

function troupeNode() {
  nodeA ??= (async () => {
    await peer('troupe');
    const s = await natsServer();
    const system = ActorSystem.start({ name: 'a' });
    const node = await joinCluster(system, { servers: s.url, cluster: 'bench', node: 'a' });
    const found = async <M extends Message>(key: typeof COUNTER | typeof ECHO) => {
      for (;;) {
        const [ref] = await node.find(key as never);
        if (ref !== undefined) return ref as unknown as ActorRef<M>;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { node, counter: await found<CounterMsg>(COUNTER), echo: await found<EchoMsg>(ECHO) };
  })();
  return nodeA;
}

let rawConnection: Promise<NatsConnection> | null = null;

function rawNats(): Promise<NatsConnection> {
  rawConnection ??= (async () => {
    await peer('raw');
    return connect({ servers: (await natsServer()).url });
  })();
  return rawConnection;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function troupeTell(n: number): Promise<Measurement> {
  const { counter } = await troupeNode();
  const start = process.hrtime.bigint();
  const done = counter.ask<Message>((replyTo) => ({ type: 'start', expect: n, replyTo }), {
    timeoutMs: 120_000,
  });
  for (let i = 0; i < n; i++) {
    counter.tell({ type: 'n', n: i });
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  await done; // the counter on node B has counted exactly n
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { metric: 'throughput', unit: 'msgs/s', value: n / seconds };
}

async function rawTell(n: number): Promise<Measurement> {
  const nc = await rawNats();
  const done = new Promise<void>((resolve) => {
    const sub = nc.subscribe('bench.r1.done', { max: 1, callback: () => resolve() });
    void sub;
  });
  await nc.flush();
  const start = process.hrtime.bigint();
  nc.publish('bench.r1.start', String(n));
  for (let i = 0; i < n; i++) {
    nc.publish('bench.r1', JSON.stringify({ type: 'n', n: i }));
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  await timeout(done, 120_000, 'raw R1: not every message arrived');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { metric: 'throughput', unit: 'msgs/s', value: n / seconds };
}

async function troupeAsk(n: number): Promise<Measurement[]> {
  const { echo } = await troupeNode();
  const laps = new Laps(n);
  laps.start();
  for (let i = 0; i < n; i++) {
    const pong = await echo.ask<{ type: 'pong'; n: number }>((replyTo) => ({ type: 'ping', n: i, replyTo }));
    laps.lap();
    if (pong.n !== i) throw new Error(`reply ${pong.n} for request ${i}`);
  }
  return asks(n, laps);
}

async function rawAsk(n: number): Promise<Measurement[]> {
  const nc = await rawNats();
  const laps = new Laps(n);
  laps.start();
  for (let i = 0; i < n; i++) {
    const reply = await nc.request('bench.r2', JSON.stringify({ type: 'ping', n: i }), { timeout: 5000 });
    laps.lap();
    if (reply.json<{ n: number }>().n !== i) throw new Error(`reply for request ${i} did not echo it`);
  }
  return asks(n, laps);
}

function asks(n: number, laps: Laps): Measurement[] {
  let ns = 0;
  for (let i = 0; i < laps.count; i++) ns += laps.ns[i] ?? 0;
  return [
    { metric: 'throughput', unit: 'asks/s', value: n / (ns / 1e9) },
    { metric: 'p99 latency', unit: 'µs', value: laps.percentileMicros(99) },
  ];
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref()),
  ]);
}

export const r1RemoteTell: Scenario = {
  id: 'R1',
  title:
    'remote tell: node A → a counting actor on node B (two processes, loopback NATS), 1,000,000 messages, lossless',
  size: 1_000_000,
  warmupSize: 100_000,
  better: 'higher',
  notes: [
    'Each run: from the first message to node B having counted exactly n (troupe: the counter replies to an ask ' +
      'made before the first tell; raw: B publishes `done`). Both at-most-once over core NATS; a loss fails the run.',
    'troupe: `ref.tell({ type, n })` to a remote ref found through the registry; JSON codec; the link coalesces ' +
      'the messages of one turn into one NATS message (up to 4,096). B decodes each message and queues it in a ' +
      '1,048,576-slot mailbox (a tell to a full remote mailbox is a dead letter there, as locally; it holds the bursts a socket read delivers).',
    'raw nats.js 3.4: one `nc.publish(subject, JSON.stringify(msg))` per message, as its docs show; B decodes each ' +
      'with `msg.json()` in a subscription callback and counts.',
    `Both producers yield to the event loop every ${YIELD_EVERY} messages. A fresh nats-server 2.9 per child.`,
  ],
  systems: { troupe: troupeTell, 'raw nats.js': rawTell },
};

export const r2RemoteAsk: Scenario = {
  id: 'R2',
  title: 'remote ask: 100,000 sequential round trips node A → node B (two processes, loopback NATS)',
  size: 100_000,
  warmupSize: 10_000,
  better: { throughput: 'higher', 'p99 latency': 'lower' },
  notes: [
    'troupe: `ref.ask((replyTo) => ping)` to a remote echo actor; the reply ref travels in the message; default timeout.',
    'raw nats.js 3.4: `nc.request(subject, JSON)` (its muxed reply inbox) answered by `msg.respond(JSON)`; 5 s timeout.',
    'p99 of the per-round-trip latencies (`process.hrtime.bigint()` between replies). Every reply must echo its request.',
  ],
  systems: { troupe: troupeAsk, 'raw nats.js': rawAsk },
};
