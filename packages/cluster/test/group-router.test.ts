// Group routers over the registry, on two nodes and a real nats-server.
import { type ClusterNode, groupRouter, joinCluster, serviceKey } from '@troupe/cluster';
import { type ActorRef, ActorSystem, type DeadLetter, receive, type SystemEvent } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();
type Job = { type: 'job'; customer: string; n: number };
const jobs = serviceKey<Job>('jobs');

describe.skipIf(unavailable !== null)('group routers over the registry', () => {
  let server: NatsServer;
  const systems: ActorSystem[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.shutdown();
  });

  async function twoNodes(): Promise<{ a: ClusterNode; b: ClusterNode; events: SystemEvent[] }> {
    const cluster = `g${++n}`;
    const events: SystemEvent[] = [];
    const sa = ActorSystem.start({ name: 'a' });
    sa.events.subscribe((e) => events.push(e));
    const sb = ActorSystem.start({ name: 'b' });
    systems.push(sa, sb);
    const fd = { heartbeatMs: 100, downAfterMs: 500 };
    const a = await joinCluster(sa, { servers: server.url, cluster, node: 'a', failureDetector: fd });
    const b = await joinCluster(sb, { servers: server.url, cluster, node: 'b', failureDetector: fd });
    await waitFor(() => a.members().includes('b') && b.members().includes('a'), 'a and b up');
    return { a, b, events };
  }

  /** Registers `count` workers on `node` that record who handled what. */
  function workers(node: ClusterNode, count: number, seen: Map<string, string[]>): ActorRef<Job>[] {
    return Array.from({ length: count }, (_, i) => {
      const name = `${node.name}-w${i}`;
      const ref = node.system.spawn(
        receive<null, Job>(null, (s, m) => {
          seen.set(name, [...(seen.get(name) ?? []), m.customer]);
          return s;
        }),
        { name },
      );
      node.register(jobs, ref);
      return ref;
    });
  }

  /** How many routees the router at `ref` sees now (from its tree details). */
  const routeesOf = (node: ClusterNode, ref: ActorRef<Job>): number =>
    (
      node.system.tree().children.find((c) => c.path === ref.path)?.details as
        | { routees?: number }
        | undefined
    )?.routees ?? -1;

  const total = (seen: Map<string, string[]>) => [...seen.values()].reduce((t, l) => t + l.length, 0);

  it('round robin spreads over the routees of every node; they go when their actor stops or their node goes', async () => {
    const { a, b, events } = await twoNodes();
    const seen = new Map<string, string[]>();
    workers(a, 2, seen);
    const [bw] = workers(b, 2, seen);
    const router = a.system.spawn(groupRouter(a, { key: jobs, routing: 'roundRobin' }));
    await waitFor(
      () => a.system.tree().children.some((c) => (c.details as { routees?: number })?.routees === 4),
      '4 routees',
    );
    for (let i = 0; i < 40; i++) router.tell({ type: 'job', customer: `c${i}`, n: i });
    await waitFor(() => total(seen) === 40, '40 jobs handled');
    expect([...seen.values()].map((l) => l.length)).toEqual([10, 10, 10, 10]);

    await b.system.stop(bw as ActorRef<Job>);
    const routees = () => routeesOf(a, router);
    await waitFor(() => routees() === 3, 'a stopped routee leaves the group');
    await b.system.shutdown(); // the whole node leaves
    await waitFor(() => routees() === 2, 'a node that left takes its routees');
    seen.clear();
    for (let i = 0; i < 10; i++) router.tell({ type: 'job', customer: `d${i}`, n: i });
    await waitFor(() => total(seen) === 10, '10 jobs handled on a');
    expect([...seen.keys()].every((k) => k.startsWith('a-'))).toBe(true);
    expect(events.filter((e) => e.type === 'DeadLetter')).toEqual([]);
  });

  it('consistent hashing keeps a key on one routee; with no routee a message is an unreachable dead letter', async () => {
    const { a, b, events } = await twoNodes();
    const seen = new Map<string, string[]>();
    const router = a.system.spawn(
      groupRouter(a, { key: jobs, routing: { consistentHash: (j) => j.customer } }),
    );
    router.tell({ type: 'job', customer: 'nobody', n: 0 });
    await waitFor(() => events.some((e) => e.type === 'DeadLetter'), 'a dead letter');
    expect(events.find((e): e is DeadLetter => e.type === 'DeadLetter')).toMatchObject({
      reason: 'unreachable',
    });

    workers(a, 2, seen);
    workers(b, 2, seen);
    await waitFor(() => routeesOf(a, router) === 4, '4 routees');
    for (let i = 0; i < 200; i++) router.tell({ type: 'job', customer: `c${i % 20}`, n: i });
    await waitFor(() => total(seen) === 200, '200 jobs handled');
    const homes = new Map<string, Set<string>>();
    for (const [worker, customers] of seen)
      for (const c of customers) homes.set(c, (homes.get(c) ?? new Set()).add(worker));
    expect([...homes.values()].every((h) => h.size === 1)).toBe(true); // one routee per key
    expect(new Set([...homes.values()].map((h) => [...h][0])).size).toBeGreaterThan(1); // and spread
  });

  it('a consistentHash that throws is a failed dead letter for that message; the router goes on', async () => {
    const { a, events } = await twoNodes();
    const seen = new Map<string, string[]>();
    workers(a, 1, seen);
    const router = a.system.spawn(
      groupRouter(a, {
        key: jobs,
        routing: {
          consistentHash: (j) => {
            if (j.n === 1) throw new Error('bad key');
            return j.customer;
          },
        },
      }),
    );
    await waitFor(() => routeesOf(a, router) === 1, 'routee');
    for (let i = 0; i < 3; i++) router.tell({ type: 'job', customer: 'x', n: i });
    await waitFor(() => total(seen) === 2, 'two handled');
    expect(events.filter((e): e is DeadLetter => e.type === 'DeadLetter').map((d) => d.reason)).toEqual([
      'failed',
    ]);
    expect(a.system.inspect(router)).toMatchObject({ status: 'running', failed: 0 });
    expect(() => groupRouter(a, { key: jobs, routing: 'sideways' as never })).toThrow(TypeError);
  });
});
