// Topics across the cluster: one NATS message per event per node, fanned out locally with the
// topic's own contract; gaps in a publisher's stream are told to subscribers as Lagged.
import { connect } from '@nats-io/transport-node';
import { type Lagged, Topic } from '@troupe/actors';
import { type ClusterNode, clusterTopic, joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();
type Price = { type: 'price'; symbol: string; n: number };

describe.skipIf(unavailable !== null)('cluster topics', () => {
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

  async function nodes(names: string[]): Promise<ClusterNode[]> {
    const cluster = `t${++n}`;
    const out: ClusterNode[] = [];
    for (const name of names) {
      const system = ActorSystem.start({ name });
      systems.push(system);
      out.push(await joinCluster(system, { servers: server.url, cluster, node: name }));
    }
    return out;
  }

  function subscriber(node: ClusterNode, got: (Price | Lagged)[]): ActorRef<Price | Lagged> {
    return node.system.spawn(
      receive<null, Price | Lagged>(null, (s, m) => {
        got.push(m);
        return s;
      }),
    );
  }

  it('every subscriber on every node gets every event once, in order; filters run on the subscriber’s node', async () => {
    const [a, b, c] = (await nodes(['a', 'b', 'c'])) as [ClusterNode, ClusterNode, ClusterNode];
    const ta = await clusterTopic<Price>(a, 'prices');
    const tb = await clusterTopic<Price>(b, 'prices');
    const tc = await clusterTopic<Price>(c, 'prices');
    const inboxes: (Price | Lagged)[][] = [];
    for (const t of [tb, tc]) {
      for (let i = 0; i < 5; i++) {
        const got: (Price | Lagged)[] = [];
        inboxes.push(got);
        await t.subscribe(subscriber(t === tb ? b : c, got));
      }
    }
    const acme: (Price | Lagged)[] = [];
    await tc.subscribe(subscriber(c, acme), { filter: (p) => p.symbol === 'ACME' });
    for (let i = 0; i < 1000; i++) ta.publish({ type: 'price', symbol: i % 4 === 0 ? 'ACME' : 'INIT', n: i });
    await waitFor(
      () => inboxes.every((g) => g.length === 1000) && acme.length === 250,
      'every event everywhere',
    );
    for (const got of inboxes) expect(got.map((p) => (p as Price).n)).toEqual([...Array(1000).keys()]);
    expect(ta.stats()).toMatchObject({ published: 1000, received: 0 }); // a has no subscriber: no copy comes back
    expect(tb.stats()).toMatchObject({ received: 1000, lost: 0, invalid: 0 }); // once per node, not per subscriber
    expect(tc.stats()).toMatchObject({ received: 1000, lost: 0 });
    const s = await Topic.stats(tc.local);
    for (const sub of s.subscriptions) expect(sub.delivered + sub.missed).toBe(sub.matched);
    expect(s.subscriptions.map((x) => x.matched).sort((x, y) => x - y)).toEqual([
      250, 1000, 1000, 1000, 1000, 1000,
    ]);
  });

  it('a burst from the wire waits for room in the local topic, so a block subscriber loses nothing', async () => {
    const [a, b] = (await nodes(['a', 'b'])) as [ClusterNode, ClusterNode];
    const ta = await clusterTopic<Price>(a, 'burst');
    const tb = await clusterTopic<Price>(b, 'burst');
    const got: (Price | Lagged)[] = [];
    await tb.subscribe(subscriber(b, got), { onFull: 'block' });
    for (let i = 0; i < 5000; i++) ta.publish({ type: 'price', symbol: 'X', n: i }); // 5x the topic's mailbox
    await waitFor(() => got.length === 5000, 'all 5000');
    expect(got.map((p) => (p as Price).n)).toEqual([...Array(5000).keys()]);
    expect(tb.stats()).toMatchObject({ received: 5000, lost: 0, dropped: 0 });
    expect(b.system.deadLetters).toBe(0);
  });

  it('events published while the broker was down are told to subscribers as Lagged when traffic resumes', async () => {
    const own = await startNatsServer();
    const sa = ActorSystem.start({ name: 'a' });
    const sb = ActorSystem.start({ name: 'b' });
    systems.push(sa, sb);
    try {
      const fd = { heartbeatMs: 100, downAfterMs: 500 };
      const a = await joinCluster(sa, {
        servers: own.url,
        cluster: 'outage',
        node: 'a',
        failureDetector: fd,
      });
      const b = await joinCluster(sb, {
        servers: own.url,
        cluster: 'outage',
        node: 'b',
        failureDetector: fd,
      });
      const ta = await clusterTopic<Price>(a, 'prices');
      const tb = await clusterTopic<Price>(b, 'prices');
      const got: (Price | Lagged)[] = [];
      await tb.subscribe(subscriber(b, got));
      const burst = (from: number) => {
        for (let i = from; i < from + 100; i++) ta.publish({ type: 'price', symbol: 'X', n: i });
      };
      burst(0);
      await waitFor(() => got.length === 100, 'the first 100');
      await own.kill();
      await waitFor(() => !a.connected, 'a sees the broker gone');
      burst(100); // published while disconnected: they cannot arrive
      await own.restart();
      await waitFor(() => a.connected && b.connected, 'both reconnected', 15_000);
      await a.connection.flush();
      await b.connection.flush();
      burst(200);
      await waitFor(
        () => got.filter((m) => m.type === 'price').length === 200 && got.some((m) => m.type === 'Lagged'),
        'the rest, and a Lagged',
        15_000,
      );
      expect(got.filter((m) => m.type === 'Lagged')).toEqual([
        { type: 'Lagged', missed: 100, topic: tb.local.path },
      ]);
      const ns = got.filter((m) => m.type === 'price').map((m) => (m as Price).n);
      expect(ns).toEqual([...Array(100).keys(), ...Array.from({ length: 100 }, (_, i) => 200 + i)]);
      expect(tb.stats()).toMatchObject({ received: 200, lost: 100 });
      expect(ta.stats().published).toBe(300);
    } finally {
      await sa.shutdown();
      await sb.shutdown();
      await own.stop();
    }
  }, 40_000);

  it('a gap at the very end of a stream (nothing published after it) is found from the publisher’s beacon', async () => {
    const own = await startNatsServer();
    const sa = ActorSystem.start({ name: 'a' });
    const sb = ActorSystem.start({ name: 'b' });
    systems.push(sa, sb);
    try {
      const a = await joinCluster(sa, { servers: own.url, cluster: 'tail', node: 'a' });
      const b = await joinCluster(sb, { servers: own.url, cluster: 'tail', node: 'b' });
      const ta = await clusterTopic<Price>(a, 'prices');
      const tb = await clusterTopic<Price>(b, 'prices');
      const got: (Price | Lagged)[] = [];
      await tb.subscribe(subscriber(b, got));
      for (let i = 0; i < 50; i++) ta.publish({ type: 'price', symbol: 'X', n: i });
      await waitFor(() => got.length === 50, 'the first 50');
      await own.kill();
      await waitFor(() => !a.connected, 'a sees the broker gone');
      for (let i = 50; i < 80; i++) ta.publish({ type: 'price', symbol: 'X', n: i }); // never sent, and nothing after
      await own.restart();
      await waitFor(() => got.some((m) => m.type === 'Lagged'), 'a Lagged from the beacon', 15_000);
      expect(got.filter((m) => m.type === 'Lagged')).toEqual([
        { type: 'Lagged', missed: 30, topic: tb.local.path },
      ]);
      expect(tb.stats()).toMatchObject({ received: 50, lost: 30 });
    } finally {
      await sa.shutdown();
      await sb.shutdown();
      await own.stop();
    }
  }, 40_000);

  it('only a node with subscribers receives the topic; one that subscribes later sees what is published from then on', async () => {
    const [a, b, c] = (await nodes(['a', 'b', 'c'])) as [ClusterNode, ClusterNode, ClusterNode];
    const ta = await clusterTopic<Price>(a, 'lazy');
    const tb = await clusterTopic<Price>(b, 'lazy');
    const tc = await clusterTopic<Price>(c, 'lazy');
    const onB: (Price | Lagged)[] = [];
    await tb.subscribe(subscriber(b, onB));
    for (let i = 0; i < 10; i++) ta.publish({ type: 'price', symbol: 'X', n: i });
    await waitFor(() => onB.length === 10, 'b has the first 10');
    expect(tc.stats().received).toBe(0); // c has no subscriber: NATS sent it nothing
    const onC: (Price | Lagged)[] = [];
    const late = subscriber(c, onC);
    await tc.subscribe(late);
    for (let i = 10; i < 20; i++) ta.publish({ type: 'price', symbol: 'X', n: i });
    await waitFor(() => onB.length === 20 && onC.length === 10, 'both have the next 10');
    expect(onC.map((m) => (m as Price).n)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i)); // no Lagged for before
    await tc.unsubscribe(late);
    for (let i = 20; i < 30; i++) ta.publish({ type: 'price', symbol: 'X', n: i });
    await waitFor(() => onB.length === 30, 'b has all 30');
    expect(tc.stats().received).toBe(10);
  });

  it('a gap in a publisher’s stream is a Lagged to every local subscriber, counted as lost; garbage is invalid', async () => {
    const [b] = (await nodes(['b'])) as [ClusterNode];
    const tb = await clusterTopic<Price>(b, 'prices');
    const got: (Price | Lagged)[] = [];
    await tb.subscribe(subscriber(b, got));
    const raw = await connect({ servers: server.url });
    const event = (seq: number) => {
      const head = Buffer.from(`ghost|1#${seq}`);
      const body = Buffer.from(JSON.stringify({ type: 'price', symbol: 'X', n: seq }));
      const out = Buffer.alloc(5 + head.length);
      out[0] = 0x50;
      out.writeUInt32BE(head.length, 1);
      head.copy(out, 5);
      return Buffer.concat([out, body]);
    };
    const subject = `troupe.${b.cluster}.topic.prices`;
    for (const seq of [0, 1, 5, 6]) raw.publish(subject, event(seq)); // 2, 3 and 4 never arrive
    raw.publish(subject, event(6)); // replayed
    raw.publish(subject, Buffer.from('garbage'));
    await raw.flush();
    await raw.close();
    await waitFor(() => got.length === 5, 'four events and one Lagged');
    expect(got.filter((m) => m.type === 'Lagged')).toEqual([
      { type: 'Lagged', missed: 3, topic: tb.local.path },
    ]);
    expect(got.filter((m) => m.type === 'price').map((p) => (p as Price).n)).toEqual([0, 1, 5, 6]);
    await waitFor(() => tb.stats().invalid === 2, 'the replay and the garbage counted');
    expect(tb.stats()).toMatchObject({ received: 4, lost: 3 });
    expect(() => tb.publish({ type: 'price', symbol: 'X', n: Number.NaN } as Price)).toThrow(
      /cannot be sent/,
    );
    await expect(clusterTopic(b, 'has space')).rejects.toThrow(TypeError);
  });
});
