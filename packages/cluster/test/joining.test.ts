// Joining a cluster as a new user does: the first view is there when joinCluster resolves, a
// second node with a live node's name is refused, bad options are reported all at once, and a
// registry update that outruns its sender's first heartbeat is kept, not counted as garbage.
import { connect } from '@nats-io/transport-node';
import { ClusterJoinError, joinCluster, LookupTimeoutError, serviceKey } from '@troupe/cluster';
import { ActorSystem, InvalidOptionsError, type Message, receive } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { FAST_DETECTOR, TestCluster } from './support/nodes.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping joining tests: ${unavailable}`);

const idle = receive<null, Message>(null, (s) => s);
const key = serviceKey<Message>('svc');

describe.skipIf(unavailable !== null)('joining a cluster', () => {
  let server: NatsServer;
  let cluster: TestCluster;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await cluster?.stopAll();
  });

  it('joinCluster resolves with the first view: members and every registration made before, at once', async () => {
    cluster = new TestCluster(server.url);
    const a = await cluster.start('a');
    const b = await cluster.start('b');
    a.node.register(key, a.system.spawn(idle, { name: 'svc' }));
    b.node.register(key, b.system.spawn(idle, { name: 'svc' }));
    await waitFor(async () => (await a.node.find(key)).length === 2, 'a sees both registrations');
    await waitFor(async () => (await b.node.find(key)).length === 2, 'b sees both registrations');
    // A newcomer: no waiting of its own, right after joining.
    const c = await cluster.start('c');
    expect(c.node.members()).toEqual(['a', 'b']);
    expect((await c.node.find(key)).map((r) => r.path)).toEqual(['/user/svc', '/user/svc']);
    expect(c.node.stats().invalidFrames).toBe(0);
  });

  it('a node alone joins after one heartbeat interval, with an empty view', async () => {
    cluster = new TestCluster(server.url);
    const started = Date.now();
    const a = await cluster.start('alone');
    expect(Date.now() - started).toBeGreaterThanOrEqual(FAST_DETECTOR.heartbeatMs - 5);
    expect(a.node.members()).toEqual([]);
    expect(await a.node.find(key)).toEqual([]);
  });

  it('waitFor resolves once the key is registered anywhere, and rejects with LookupTimeoutError in time', async () => {
    cluster = new TestCluster(server.url);
    const [a, b] = await cluster.nodes('a', 'b');
    if (a === undefined || b === undefined) throw new Error('nodes');
    const waiting = a.node.waitFor(key, { timeoutMs: 5000 });
    const two = a.node.waitFor(key, { timeoutMs: 5000, count: 2 });
    const ref = b.system.spawn(idle, { name: 'svc' });
    b.node.register(key, ref);
    const [found] = await waiting;
    expect(found?.path).toBe('/user/svc');
    b.node.register(key, b.system.spawn(idle, { name: 'svc2' }));
    expect(await two).toHaveLength(2);

    const missing = serviceKey<Message>('missing');
    const started = Date.now();
    const error = await a.node.waitFor(missing, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LookupTimeoutError);
    expect(error).toMatchObject({ key: 'missing', timeoutMs: 150, wanted: 1, found: 0 });
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(a.node.waitFor(key, { timeoutMs: -1, count: 0 })).rejects.toBeInstanceOf(
      InvalidOptionsError,
    );
  });

  it('a second live node with the same name is refused with ClusterJoinError; the first is undisturbed', async () => {
    cluster = new TestCluster(server.url);
    const [a, b] = await cluster.nodes('a', 'b');
    if (a === undefined || b === undefined) throw new Error('nodes');
    const intruder = ActorSystem.start({ name: 'intruder' });
    try {
      const error = await joinCluster(intruder, {
        servers: server.url,
        cluster: cluster.name,
        node: 'a',
        failureDetector: FAST_DETECTOR,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClusterJoinError);
      expect((error as Error).message).toMatch(/a live node already has that name/);
    } finally {
      await intruder.shutdown();
    }
    // The refused one never announced itself: b saw no new incarnation of a, nothing went down.
    await new Promise((r) => setTimeout(r, 3 * FAST_DETECTOR.heartbeatMs));
    expect(b.events.filter((e) => e.type === 'NodeDown' || e.type === 'NodeLeft')).toEqual([]);
    expect(b.events.filter((e) => e.type === 'NodeUp' && e.node === 'a')).toHaveLength(1);
    expect(b.node.members()).toEqual(['a']);
  });

  it('a node that died can be replaced under its name at once: peers see the old one down, the new one up', async () => {
    cluster = new TestCluster(server.url);
    const [a, b] = await cluster.nodes('a', 'b');
    if (a === undefined || b === undefined) throw new Error('nodes');
    // a dies without a goodbye: its connection is gone, so nothing answers for its name.
    await a.node.connection.close();
    const again = await cluster.start('a');
    expect(again.node.members()).toEqual(['b']);
    await waitFor(() => b.events.some((e) => e.type === 'NodeDown' && e.node === 'a'), 'old a down');
    expect(b.events.filter((e) => e.type === 'NodeUp' && e.node === 'a')).toHaveLength(2);
  });

  it('bad options are all reported at once, before anything connects', async () => {
    const system = ActorSystem.start({ name: 'opts' });
    try {
      const error = await joinCluster(system, {
        servers: 'http://nope',
        cluster: 'has space',
        failureDetector: { heartbeatMs: 500, downAfterMs: 100 },
        link: { capacity: 0, overflow: 'sideways' as never },
        colour: 'red',
      } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      const message = (error as Error).message;
      for (const field of ['servers', 'cluster', 'downAfterMs', 'link.capacity', 'link.overflow', '"colour"'])
        expect(message).toContain(field);
      expect((error as InvalidOptionsError).errors).toHaveLength(6);
      // One bad field is still its own error, as before.
      await expect(
        joinCluster(system, { servers: server.url, cluster: 'x', link: { capacity: 0 } }),
      ).rejects.toBeInstanceOf(RangeError);
    } finally {
      await system.shutdown();
    }
  });

  it('a registry update that arrives before its sender is known is kept until its heartbeat, not counted invalid', async () => {
    cluster = new TestCluster(server.url);
    const a = await cluster.start('a');
    const raw = await connect({ servers: server.url });
    try {
      const prefix = `troupe.${cluster.name}`;
      const address = `troupe://${cluster.name}@x/user/svc#x1`;
      raw.publish(`${prefix}.reg`, JSON.stringify({ v: 1, n: 'x', i: 'inc-x', keys: { svc: [address] } }));
      await raw.flush();
      await new Promise((r) => setTimeout(r, 50));
      expect(await a.node.find(key)).toEqual([]); // x is not a member yet
      raw.publish(`${prefix}.hb`, JSON.stringify({ v: 2, k: 'hb', n: 'x', i: 'inc-x', q: {} }));
      await raw.flush();
      await waitFor(async () => (await a.node.find(key)).length === 1, 'the held update applied');
      expect(String((await a.node.find(key))[0])).toBe(address);
      // From another incarnation than the one heard: held, then dropped when a different one comes.
      raw.publish(
        `${prefix}.reg`,
        JSON.stringify({ v: 1, n: 'y', i: 'old', keys: { svc: [`troupe://${cluster.name}@y/user/s#1`] } }),
      );
      raw.publish(`${prefix}.hb`, JSON.stringify({ v: 2, k: 'hb', n: 'y', i: 'new', q: {} }));
      await raw.flush();
      await waitFor(() => a.node.members().includes('y'), 'y up');
      expect((await a.node.find(key)).map(String)).toEqual([address]);
      expect(a.node.stats().invalidFrames).toBe(0);
    } finally {
      await raw.close();
    }
  });
});

describe.skipIf(unavailable !== null)('the seam for cluster services', () => {
  let server: NatsServer;
  let cluster: TestCluster;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await cluster?.stopAll();
    await server?.stop();
  });

  it('an attached service hears peers come and go in order and is closed when the node leaves; one that throws changes nothing', async () => {
    cluster = new TestCluster(server.url);
    const a = await cluster.start('a');
    const heard: string[] = [];
    a.node.attach({
      name: 'broken',
      peerUp: () => {
        throw new Error('broken service');
      },
    });
    a.node.attach({
      name: 'listener',
      peerUp: (node) => heard.push(`up ${node}`),
      peerGone: (node, _incarnation, how) => heard.push(`${how} ${node}`),
      close: async () => {
        heard.push('closed');
      },
    });
    const b = await cluster.start('b');
    await waitFor(() => heard.includes('up b'), 'b up');
    await b.system.shutdown();
    await waitFor(() => heard.includes('left b'), 'b left');
    await a.node.leave();
    expect(heard).toEqual(['up b', 'left b', 'closed']);
  });
});
