// Durable topics on JetStream (a nats-server -js of the test's own).
import {
  type ClusterNode,
  DurablePublishError,
  type DurableStart,
  durableTopic,
  joinCluster,
} from '@troupe/cluster';
import { ActorSystem, type DeadLetter, type SystemEvent, supervisor } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();

/** Polls an async condition every 20 ms, for at most 10 s. */
async function waitForAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
type Order = { type: 'order'; n: number };

describe.skipIf(unavailable !== null)('durable topics', () => {
  let server: NatsServer;
  const systems: ActorSystem[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.shutdown();
  });

  async function node(): Promise<{ node: ClusterNode; events: SystemEvent[] }> {
    const system = ActorSystem.start({ name: 'd' });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    systems.push(system);
    return {
      node: await joinCluster(system, { servers: server.url, cluster: `d${++n}`, node: 'a' }),
      events,
    };
  }

  it('publish is stored once per id; a subscriber gets every event in order, acknowledged after it handled it', async () => {
    const { node: a } = await node();
    const orders = await durableTopic<Order>(a, 'orders', { maxMessages: 10_000 });
    const first = await orders.publish({ type: 'order', n: 0 }, { id: 'order-0' });
    const retried = await orders.publish({ type: 'order', n: 0 }, { id: 'order-0' });
    expect(retried).toEqual({ seq: first.seq, duplicate: true });
    for (let i = 1; i < 20; i++) await orders.publish({ type: 'order', n: i });
    const got: number[] = [];
    a.system.spawn(
      orders.subscriber({
        name: 'billing',
        start: 'all',
        initial: null,
        handle: (s, e) => {
          got.push(e.n);
          return s;
        },
      }),
    );
    await waitFor(() => got.length === 20, '20 events');
    expect(got).toEqual([...Array(20).keys()]);
  });

  it('start positions: new only, all, from a sequence, from a time; retention options are validated', async () => {
    const { node: a } = await node();
    const orders = await durableTopic<Order>(a, 'orders');
    for (let i = 0; i < 5; i++) await orders.publish({ type: 'order', n: i });
    await new Promise((r) => setTimeout(r, 20));
    const midway = new Date();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 5; i < 10; i++) await orders.publish({ type: 'order', n: i });
    const seen = new Map<string, number[]>();
    const spawnSub = (name: string, start: DurableStart) =>
      a.system.spawn(
        orders.subscriber({
          name,
          start,
          initial: null,
          handle: (s, e) => {
            seen.set(name, [...(seen.get(name) ?? []), e.n]);
            return s;
          },
        }),
      );
    spawnSub('all', 'all');
    spawnSub('fromSeq', { seq: 8 });
    spawnSub('fromTime', { time: midway });
    spawnSub('new', 'new');
    await waitFor(() => (seen.get('all')?.length ?? 0) === 10, 'all ten');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(a.connection);
    await waitForAsync(
      async () => (await jsm.consumers.list(orders.stream).next()).length === 4,
      'the four consumers exist',
    );
    await orders.publish({ type: 'order', n: 10 });
    await waitFor(
      () => (seen.get('new') ?? []).includes(10) && (seen.get('all') ?? []).includes(10),
      'the new one',
    );
    expect(seen.get('new')).toEqual([10]);
    expect(seen.get('fromSeq')).toEqual([7, 8, 9, 10]);
    expect(seen.get('fromTime')).toEqual([5, 6, 7, 8, 9, 10]);
    await expect(durableTopic(a, 'bad', { maxMessages: 0 })).rejects.toThrow(/maxMessages/);
    await expect(durableTopic(a, 'bad name')).rejects.toThrow(TypeError);
    expect(() => orders.subscriber({ name: 'x', initial: null, handle: (s) => s, maxAckPending: 0 })).toThrow(
      /maxAckPending/,
    );
  });

  it('at most maxAckPending events are delivered and unacknowledged at once: a slow subscriber slows only itself', async () => {
    const { node: a } = await node();
    const orders = await durableTopic<Order>(a, 'orders');
    for (let i = 0; i < 30; i++) await orders.publish({ type: 'order', n: i });
    let handled = 0;
    const release: (() => void)[] = [];
    a.system.spawn(
      orders.subscriber({
        name: 'slow',
        start: 'all',
        maxAckPending: 4,
        initial: null,
        handle: async (s) => {
          await new Promise<void>((r) => release.push(r));
          handled++;
          return s;
        },
      }),
    );
    await waitFor(() => release.length === 1, 'the first delivery is being handled');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(a.connection);
    let info = await jsm.consumers.info(orders.stream, 'slow');
    for (let i = 0; i < 50 && info.num_ack_pending < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
      info = await jsm.consumers.info(orders.stream, 'slow');
    }
    await new Promise((r) => setTimeout(r, 200)); // would the server hand out more? it must not
    info = await jsm.consumers.info(orders.stream, 'slow');
    expect(info.num_ack_pending).toBe(4);
    expect(info.delivered.stream_seq).toBe(4);
    for (let released = 0; released < 30; released++) {
      await waitFor(() => release.length > 0, `delivery ${released + 1} waiting`);
      release.shift()?.();
    }
    await waitFor(() => handled === 30, 'all handled');
  }, 30_000);

  it('a handler that fails is restarted by its supervisor and the event redelivered, marked as such; a poison event becomes a failed dead letter', async () => {
    const { node: a, events } = await node();
    const orders = await durableTopic<Order>(a, 'orders');
    const seen: { n: number; redelivered: boolean; seq: number }[] = [];
    const failedOnce = new Set<number>();
    a.system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 100, withinMs: 10_000 },
        children: [
          {
            id: 'billing',
            start: () =>
              orders.subscriber({
                name: 'billing',
                start: 'all',
                maxDeliveries: 3,
                initial: null,
                handle: (s, e, info) => {
                  seen.push({ n: e.n, redelivered: info.redelivered, seq: info.seq });
                  if (e.n === 2 && !failedOnce.has(2)) {
                    failedOnce.add(2);
                    throw new Error('transient');
                  }
                  if (e.n === 4) throw new Error('poison');
                  return s;
                },
              }),
          },
        ],
      }),
    );
    for (let i = 0; i < 6; i++) await orders.publish({ type: 'order', n: i });
    // Redelivery comes after what was already in flight (at least once; order holds only while nothing fails).
    await waitFor(
      () =>
        seen.filter((x) => x.n === 2).length === 2 &&
        seen.filter((x) => x.n === 4).length === 3 &&
        seen.some((x) => x.n === 5),
      'the failed event redelivered, the poison one tried 3 times, the rest handled',
    );
    const twos = seen.filter((x) => x.n === 2);
    expect(twos.map((x) => x.redelivered)).toEqual([false, true]);
    expect(twos[0]?.seq).toBe(twos[1]?.seq);
    expect(seen.filter((x) => x.n === 4)).toHaveLength(3); // maxDeliveries, then a dead letter
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.type === 'DeadLetter' &&
            e.reason === 'failed' &&
            (e.message as { seq?: number }).seq !== undefined,
        ),
      'the poison event is a failed dead letter with its sequence',
    );
    const poison = events.find(
      (e): e is DeadLetter => e.type === 'DeadLetter' && (e.message as { event?: Order }).event?.n === 4,
    );
    expect(poison?.message).toMatchObject({ seq: expect.any(Number), event: { n: 4 } });
  });

  it('publishing while the server is down rejects with DurablePublishError; after it is back, publishes are stored', async () => {
    const own = await startNatsServer({ jetstream: true });
    const system = ActorSystem.start({ name: 'outage' });
    systems.push(system);
    try {
      const a = await joinCluster(system, { servers: own.url, cluster: 'outage', node: 'a' });
      const orders = await durableTopic<Order>(a, 'orders', { publishTimeoutMs: 500 });
      await orders.publish({ type: 'order', n: 1 });
      await own.kill();
      await expect(orders.publish({ type: 'order', n: 2 })).rejects.toBeInstanceOf(DurablePublishError);
      await own.restart();
      await waitFor(() => a.connected, 'reconnected', 15_000);
      let stored: { seq: number } | undefined;
      for (let i = 0; i < 50 && stored === undefined; i++) {
        stored = await orders.publish({ type: 'order', n: 3 }).catch(() => undefined);
        if (stored === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(stored?.seq).toBe(2); // n: 1 then n: 3 — the rejected one was not stored
    } finally {
      await system.shutdown();
      await own.stop();
    }
  }, 30_000);
});
