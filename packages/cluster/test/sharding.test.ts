// Sharded entities on real NATS (JetStream key-value for placement): addressing by (type, id)
// from any node, on-demand activation, even placement, handoff on join and leave, failover when a
// node dies, passivation, and bad input.
import { type ClusterNode, entityType, joinCluster, type Sharding, startSharding } from '@troupe/cluster';
import { type ActorRef, ActorSystem, InvalidOptionsError, receive, type SystemEvent } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping sharding tests: ${unavailable}`);

type Cmd =
  | { type: 'add'; n: number }
  | { type: 'get'; replyTo: ActorRef<{ type: 'value'; id: string; value: number; node: string }> }
  | { type: 'rest' };

/** Which node each activation ran on, by entity id (to check single activation). */
const activations: { id: string; node: string }[] = [];

const Counter = entityType<Cmd>('counter', {
  behavior: (entity) =>
    receive<number, Cmd>(
      0,
      (value, m, ctx) => {
        if (m.type === 'add') return value + m.n;
        if (m.type === 'rest') entity.passivate();
        else m.replyTo.tell({ type: 'value', id: entity.entityId, value, node: ctx.system.name });
        return value;
      },
      {
        onStart: (ctx) => {
          activations.push({ id: entity.entityId, node: ctx.system.name });
          return 0;
        },
      },
    ),
  passivation: { idleMs: 60_000 },
});

interface Member {
  system: ActorSystem;
  node: ClusterNode;
  sharding: Sharding;
  events: SystemEvent[];
}

describe.skipIf(unavailable !== null)('sharded entities', () => {
  let server: NatsServer;
  const members: Member[] = [];
  let clusterN = 0;
  let cluster = '';
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const m of members.splice(0).reverse()) await m.system.shutdown();
    activations.length = 0;
  });

  async function member(name: string, host = true): Promise<Member> {
    const system = ActorSystem.start({ name, askTimeoutMs: 5000 });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    const node = await joinCluster(system, {
      servers: server.url,
      cluster,
      node: name,
      failureDetector: { heartbeatMs: 100, downAfterMs: 600 },
    });
    const sharding = await startSharding(node, {
      entities: [Counter],
      host,
      shards: 32,
      leaseMs: 1200,
      skewMs: 100,
      rebalance: { intervalMs: 100, maxMoves: 8 },
    });
    const m = { system, node, sharding, events };
    members.push(m);
    return m;
  }

  const owned = (m: Member) => m.sharding.stats().types.counter?.shards ?? 0;

  it('any node addresses an entity by (type, id); it starts once, on demand, and keeps its state', async () => {
    cluster = `sh${++clusterN}`;
    const a = await member('a');
    const b = await member('b');
    const proxy = await member('p', false);
    await waitFor(() => owned(a) === 16 && owned(b) === 16, 'shards spread evenly over a and b');
    expect(owned(proxy)).toBe(0);
    for (const from of [a, b, proxy]) from.sharding.ref(Counter, 'acc-42').tell({ type: 'add', n: 1 });
    // Three senders: no order between them and the proxy's ask, so ask until all three landed.
    const get = () =>
      proxy.sharding
        .ref(Counter, 'acc-42')
        .ask<{ type: 'value'; value: number; node: string }>((replyTo) => ({ type: 'get', replyTo }));
    await waitFor(async () => (await get()).value >= 3, 'the three adds');
    const reply = await get();
    expect(reply.value).toBe(3);
    expect(['a', 'b']).toContain(reply.node);
    expect(activations.filter((x) => x.id === 'acc-42')).toHaveLength(1);
    // Many entities: each on exactly one node.
    for (let i = 0; i < 100; i++) a.sharding.ref(Counter, `e${i}`).tell({ type: 'add', n: i });
    for (let i = 0; i < 100; i++) {
      const r = await b.sharding
        .ref(Counter, `e${i}`)
        .ask<{ type: 'value'; value: number }>((replyTo) => ({ type: 'get', replyTo }));
      expect(r.value).toBe(i);
    }
    const ids = activations.map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 30_000);

  it('a node that dies: its shards start elsewhere once its lease expires, and its entities answer again', async () => {
    cluster = `sh${++clusterN}`;
    const a = await member('a');
    const b = await member('b');
    await waitFor(() => owned(a) === 16 && owned(b) === 16, 'shards spread evenly');
    const ids = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const id of ids) await a.sharding.ref(Counter, id).ask((replyTo) => ({ type: 'get', replyTo }));
    const onB = activations.filter((x) => x.node === 'b').map((x) => x.id);
    expect(onB.length).toBeGreaterThan(0);
    // b dies without a goodbye.
    await b.node.connection.close();
    const killedAt = Date.now();
    for (const id of onB) {
      const r = await a.sharding
        .ref(Counter, id)
        .ask<{ type: 'value'; node: string }>((replyTo) => ({ type: 'get', replyTo }), {
          timeoutMs: 10_000,
        });
      expect(r.node).toBe('a');
    }
    expect(Date.now() - killedAt).toBeLessThan(1200 + 2000);
    await waitFor(() => owned(a) === 32, 'a owns every shard');
  }, 30_000);

  it('a joining node takes its share; a leaving one hands its shards off; every message sent is delivered once', async () => {
    cluster = `sh${++clusterN}`;
    const a = await member('a');
    await waitFor(() => owned(a) === 32, 'a owns all');
    const adds = new Map<string, number>(); // what the entities received, across activations
    const countAdds = (e: SystemEvent) => {
      if (e.type === 'EntityPassivated') adds.set(e.id, adds.get(e.id) ?? 0);
    };
    a.system.events.subscribe(countAdds);
    const send = (from: Member, round: number) => {
      for (let i = 0; i < 50; i++) from.sharding.ref(Counter, `j${i}`).tell({ type: 'add', n: 10 ** round });
    };
    const total = async (from: Member) => {
      let sum = 0;
      for (let i = 0; i < 50; i++) {
        const r = await from.sharding
          .ref(Counter, `j${i}`)
          .ask<{ type: 'value'; value: number }>((replyTo) => ({
            type: 'get',
            replyTo,
          }));
        sum += r.value;
      }
      return sum;
    };
    send(a, 0);
    const b = await member('b');
    send(a, 1); // while b takes its half: held, then delivered where the shard runs
    await waitFor(() => owned(a) === 16 && owned(b) === 16, 'b took half');
    const moved = a.events.filter((e) => e.type === 'ShardHandedOff' && e.reason === 'rebalance').length;
    expect(moved).toBe(16);
    expect(b.events.filter((e) => e.type === 'ShardStarted')).toHaveLength(16);
    send(b, 2);
    const leaving = b.sharding.stop();
    send(a, 3); // while b hands its shards back
    await leaving;
    await waitFor(() => owned(a) === 32, 'a owns all again');
    // In-memory entities that moved start again from 0: each round lands whole on some
    // activation, so each entity's value is a sum of distinct rounds, and the sum over entities
    // of the rounds they kept is exact. What matters here: no message was lost or doubled.
    const stats = [a, b].map((m) => m.sharding.stats().types.counter);
    const sent = stats.reduce((n, c) => n + (c?.sent ?? 0), 0);
    const delivered = stats.reduce((n, c) => n + (c?.delivered ?? 0), 0);
    const dead = stats.reduce((n, c) => n + (c?.deadLettered ?? 0), 0);
    expect(sent).toBe(200);
    expect(delivered + dead).toBe(200);
    expect(dead).toBe(0);
    expect(await total(a)).toBeGreaterThan(0);
  }, 30_000);

  it('bad input: an unknown type or a bad id is a TypeError at ref(); bad options are all reported', async () => {
    cluster = `sh${++clusterN}`;
    const a = await member('a');
    const Other = entityType<Cmd>('other', { behavior: Counter.options.behavior });
    expect(() => a.sharding.ref(Other, 'x')).toThrow(/unknown entity type/);
    expect(() => a.sharding.ref(Counter, '')).toThrow(TypeError);
    expect(() => a.sharding.ref(Counter, 'x'.repeat(300))).toThrow(TypeError);
    expect(() => a.sharding.ref(Counter, 42 as never)).toThrow(TypeError);
    await expect(
      startSharding(a.node, { entities: [], shards: 0, leaseMs: 10 } as never),
    ).rejects.toBeInstanceOf(InvalidOptionsError);
    expect(() => entityType('bad name', { behavior: 3 as never })).toThrow(InvalidOptionsError);
  }, 30_000);
});
