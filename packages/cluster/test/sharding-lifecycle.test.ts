// Sharded entities over their lifetime: passivation (idle, least recently used, on request, and a
// message arriving meanwhile), remembered entities after a move, the race for a first activation
// from two nodes at once, and messages for a type no node hosts.
import { entityType } from '@troupe/cluster';
import { type ActorRef, type DeadLetter, type EntityPassivated, receive } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { ShardCluster } from './support/sharding.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping sharding lifecycle tests: ${unavailable}`);

type Cmd =
  | { type: 'add'; n: number }
  | { type: 'get'; replyTo: ActorRef<{ type: 'value'; value: number; node: string }> }
  | { type: 'rest' }
  | { type: 'slow'; ms: number };

const log: { id: string; node: string; event: 'start' | 'stop' }[] = [];

function counter(
  name: string,
  extra: Parameters<typeof entityType<Cmd>>[1] extends infer O ? Partial<O> : never,
) {
  return entityType<Cmd>(name, {
    behavior: (entity) =>
      receive<number, Cmd>(
        0,
        async (value, m, ctx) => {
          if (m.type === 'add') return value + m.n;
          if (m.type === 'rest') entity.passivate();
          if (m.type === 'slow') await new Promise((r) => setTimeout(r, m.ms));
          if (m.type === 'get') m.replyTo.tell({ type: 'value', value, node: ctx.system.name });
          return value;
        },
        {
          onStart: (ctx) => {
            log.push({ id: entity.entityId, node: ctx.system.name, event: 'start' });
            return 0;
          },
          onStop: (_s, _r, ctx) => {
            log.push({ id: entity.entityId, node: ctx.system.name, event: 'stop' });
          },
        },
      ),
    ...extra,
  });
}

const get = (ref: ActorRef<Cmd>) =>
  ref.ask<{ type: 'value'; value: number; node: string }>((replyTo) => ({ type: 'get', replyTo }));

describe.skipIf(unavailable !== null)('sharded entities over their lifetime', () => {
  let server: NatsServer;
  let cluster: ShardCluster;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await cluster?.stopAll();
    log.length = 0;
  });

  it('passivates after idleMs, least recently used over maxActive, and on request; the next message starts it again', async () => {
    cluster = new ShardCluster(server.url);
    const Idle = counter('idle', { passivation: { idleMs: 150, maxActive: 3 } });
    const a = await cluster.start('a', [Idle]);
    await waitFor(() => a.owned('idle') === 32, 'a owns all');
    const passivated = () =>
      a.events
        .filter((e): e is EntityPassivated => e.type === 'EntityPassivated')
        .map((e) => `${e.id}:${e.reason}`);

    // Over maxActive: the least recently used goes first.
    for (const id of ['x1', 'x2', 'x3']) a.sharding.ref(Idle, id).tell({ type: 'add', n: 1 });
    a.sharding.ref(Idle, 'x1').tell({ type: 'add', n: 1 }); // x1 is the most recent now
    a.sharding.ref(Idle, 'x4').tell({ type: 'add', n: 1 });
    await waitFor(() => passivated().includes('x2:maxActive'), 'x2 passivated: the least recently used');
    expect(passivated().filter((p) => p.endsWith('maxActive'))).toEqual(['x2:maxActive']);

    // On request, with a message arriving while it stops: kept, and it starts again.
    const x1 = a.sharding.ref(Idle, 'x1');
    x1.tell({ type: 'slow', ms: 50 });
    x1.tell({ type: 'rest' });
    x1.tell({ type: 'add', n: 5 }); // queued behind: handled before it stops (what its mailbox holds)
    await waitFor(() => passivated().includes('x1:requested'), 'x1 passivated on request');
    x1.tell({ type: 'add', n: 7 }); // after: it starts again, from 0 (in memory)
    expect((await get(x1)).value).toBe(7);
    expect(log.filter((l) => l.id === 'x1' && l.event === 'start')).toHaveLength(2);

    // Idle: nothing for 150 ms.
    await waitFor(() => passivated().some((p) => p.startsWith('x4:idle')), 'x4 passivated when idle', 3000);
    const s = a.sharding.stats().types.idle;
    expect(s?.passivations).toBe(passivated().length);
    expect(s?.active).toBe(s === undefined ? 0 : s.activations - s.passivations);
  }, 30_000);

  it('remembered entities start again on the new owner after a move, without a message', async () => {
    cluster = new ShardCluster(server.url);
    const Kept = counter('kept', { remember: true });
    const a = await cluster.start('a', [Kept]);
    await waitFor(() => a.owned('kept') === 32, 'a owns all');
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) a.sharding.ref(Kept, id).tell({ type: 'add', n: 1 });
    await waitFor(() => log.filter((l) => l.event === 'start').length === 20, 'all 20 started on a');
    const b = await cluster.start('b', [Kept]);
    await waitFor(() => a.owned('kept') === 16 && b.owned('kept') === 16, 'half moved to b');
    // The entities of the moved shards started on b by themselves.
    const onB = () => log.filter((l) => l.node === 'b' && l.event === 'start').map((l) => l.id);
    await waitFor(
      () =>
        onB().length > 0 && onB().length === log.filter((l) => l.node === 'a' && l.event === 'stop').length,
      'moved entities running on b',
    );
    expect(b.sharding.stats().types.kept?.activations).toBe(onB().length);
    expect(b.sharding.stats().types.kept?.delivered).toBe(0); // no message woke them
  }, 30_000);

  it('two nodes racing for the first activation of one id, from both sides: it runs once', async () => {
    cluster = new ShardCluster(server.url);
    const Race = counter('race', {});
    const [a, b] = await Promise.all([cluster.start('a', [Race]), cluster.start('b', [Race])]);
    // Right away, before the placement settles: both send to the same ids.
    const ids = Array.from({ length: 30 }, (_, i) => `race${i}`);
    for (const id of ids) {
      a.sharding.ref(Race, id).tell({ type: 'add', n: 1 });
      b.sharding.ref(Race, id).tell({ type: 'add', n: 1 });
    }
    for (const id of ids) await get(a.sharding.ref(Race, id));
    // Shards may move while the two settle (in-memory entities then start again elsewhere), but
    // an entity never runs on two nodes at once: its starts and stops alternate.
    for (const id of ids) {
      const seq = log.filter((l) => l.id === id).map((l) => l.event);
      for (let i = 1; i < seq.length; i++) expect(`${seq[i - 1]}>${seq[i]}`).not.toBe('start>start');
    }
    const delivered = [a, b].reduce((n, x) => n + (x.sharding.stats().types.race?.delivered ?? 0), 0);
    // The adds, and the gets. KNOWN (issue 23): an ask re-sent when its shard's owner changes
    // can be counted `delivered` on both regions (seen 1 in ~5 runs), so this is a lower bound
    // until the counter tells a re-sent ask from a new one.
    expect(delivered).toBeGreaterThanOrEqual(2 * ids.length + ids.length);
  }, 30_000);

  it('a message for a type that no node hosts is an unreachable dead letter; a bad one is invalid', async () => {
    cluster = new ShardCluster(server.url);
    const Nowhere = counter('nowhere', {});
    const proxy = await cluster.start('p', [Nowhere], { host: false });
    const ref = proxy.sharding.ref(Nowhere, 'n1');
    ref.tell({ type: 'add', n: 1 });
    ref.tell(42 as never);
    const letters = proxy.events.filter((e): e is DeadLetter => e.type === 'DeadLetter').map((d) => d.reason);
    expect(letters).toEqual(['unreachable', 'invalid']);
    expect(ref.trySend({ type: 'add', n: 1 })).toMatchObject({ ok: false, reason: 'closed' });
    expect(() => ref.trySend(7 as never)).toThrow(TypeError);
    await expect(get(ref)).rejects.toMatchObject({ name: 'EntityUnreachableError', entityType: 'nowhere' });
    await expect(ref.send({ type: 'add', n: 1 })).rejects.toMatchObject({ name: 'EntityUnreachableError' });
  }, 30_000);
});
