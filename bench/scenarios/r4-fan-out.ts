/**
 * R4: cluster fan-out. This process publishes; two peer processes (bench/cluster/peer.ts) each
 * hold 500 subscribers. Troupe: a cluster topic (one NATS message per event per node, fanned out
 * locally); raw nats.js: one NATS subscription per subscriber, as a user would write by hand.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { type ClusterTopic, clusterTopic, joinCluster } from '@troupe/cluster';
import { ActorSystem } from '@troupe/runtime';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import type { Measurement, Scenario } from '../scenario.js';

const PEER = fileURLToPath(new URL('../cluster/peer.ts', import.meta.url));
const SUBSCRIBERS_PER_NODE = 500;
const NODES = 2;
const YIELD_EVERY = 1000;

let server: Promise<NatsServer> | null = null;
const started = new Map<string, Promise<ChildProcess[]>>();

function natsServer(): Promise<NatsServer> {
  server ??= startNatsServer();
  return server;
}

function peers(mode: 'troupe-r4' | 'raw-r4'): Promise<ChildProcess[]> {
  let p = started.get(mode);
  if (p === undefined) {
    p = natsServer().then((s) =>
      Promise.all(
        ['b', 'c'].map(
          (name) =>
            new Promise<ChildProcess>((resolve, reject) => {
              const child = spawn(
                process.execPath,
                ['--import', 'tsx', '--conditions=@troupe/source', PEER, mode, s.url, name],
                {
                  stdio: ['pipe', 'pipe', 'pipe'],
                },
              );
              child.stderr?.pipe(process.stderr);
              child.stdout?.on(
                'data',
                (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child),
              );
              child.once('exit', (code) => reject(new Error(`peer ${mode} ${name} exited with ${code}`)));
              process.once('exit', () => child.kill('SIGKILL'));
            }),
        ),
      ),
    );
    started.set(mode, p);
  }
  return p;
}

/**
 * Arms both subscriber nodes for `n` events at each subscriber; resolves when both report done.
 * Sent on the publishing connection itself, so the start notice is ahead of the events.
 */
function armed(nc: NatsConnection, n: number): Promise<void> {
  let done = 0;
  const all = new Promise<void>((resolve) => {
    nc.subscribe('bench.r4.done', {
      max: NODES,
      callback: () => {
        if (++done === NODES) resolve();
      },
    });
  });
  nc.publish('bench.r4.start', String(n));
  return all;
}

let topic: Promise<{ prices: ClusterTopic<{ type: 'price'; n: number }>; nc: NatsConnection }> | null = null;
let rawConnection: Promise<NatsConnection> | null = null;

async function troupe(n: number): Promise<Measurement> {
  await peers('troupe-r4');
  topic ??= (async () => {
    const system = ActorSystem.start({ name: 'a' });
    const node = await joinCluster(system, {
      servers: (await natsServer()).url,
      cluster: 'bench-r4',
      node: 'a',
    });
    return { prices: await clusterTopic<{ type: 'price'; n: number }>(node, 'prices'), nc: node.connection };
  })();
  const { prices, nc } = await topic;
  const done = armed(nc, n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    prices.publish({ type: 'price', n: i });
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((r) => setImmediate(r));
  }
  await done;
  return rate(n, start);
}

async function raw(n: number): Promise<Measurement> {
  await peers('raw-r4');
  rawConnection ??= natsServer().then((s) => connect({ servers: s.url }));
  const nc = await rawConnection;
  const done = armed(nc, n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    nc.publish('bench.r4.prices', JSON.stringify({ type: 'price', n: i }));
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((r) => setImmediate(r));
  }
  await done;
  return rate(n, start);
}

function rate(n: number, start: bigint): Measurement {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { metric: 'deliveries', unit: 'deliveries/s', value: (n * SUBSCRIBERS_PER_NODE * NODES) / seconds };
}

export const r4FanOut: Scenario = {
  id: 'R4',
  title: 'cluster fan-out: 1 publisher node, 2 subscriber nodes × 500 subscribers, 10,000 events, lossless',
  size: 10_000,
  warmupSize: 1_000,
  better: 'higher',
  notes: [
    'From the first publish until both subscriber nodes counted every event at every subscriber (10,000,000 deliveries).',
    'troupe: `clusterTopic` — one NATS message per event, received once per node and fanned out by the local topic to ' +
      "500 actors subscribed with `onFull: 'block'` (lossless).",
    'raw nats.js 3.4: 500 `nc.subscribe` per subscriber node on one subject (the server sends each event 500 times to ' +
      'each node), each callback decoding its copy with `msg.json()`.',
    `Publishers yield every ${YIELD_EVERY} events. Both are at-most-once over core NATS; a loss fails the run (timeout).`,
  ],
  systems: { troupe, 'raw nats.js': raw },
};
