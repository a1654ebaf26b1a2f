// Addressing by path (Erlang's {Name, Node}, Akka's ActorSelection), and refs to an incarnation
// that is gone: a restarted node's well-known actor is found again by its path; a ref to the old
// one fails at once, never by timeout.
import { connect } from '@nats-io/transport-node';
import { ActorNotFoundError, NodeUnreachableError } from '@troupe/cluster';
import { type ActorRef, ActorStoppedError, type Message, receive, type Terminated } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { TestCluster, type TestNode } from './support/nodes.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping resolve tests: ${unavailable}`);

type Pong = { type: 'pong'; from: string };
type Ping = { type: 'ping'; replyTo: ActorRef<Pong> };
const sink = receive<null, Pong>(null, (s) => s);
const echo = receive<null, Ping>(null, (s, m, ctx) => {
  m.replyTo.tell({ type: 'pong', from: ctx.self.id });
  return s;
});

describe.skipIf(unavailable !== null)('resolve by path; refs to a gone incarnation', () => {
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

  const pair = async (): Promise<[TestNode, TestNode]> => {
    cluster = new TestCluster(server.url);
    const [a, b] = await cluster.nodes('a', 'b');
    if (a === undefined || b === undefined) throw new Error('nodes');
    return [a, b];
  };

  it('resolves (node, path) and troupe://cluster@node/path to the actor there now', async () => {
    const [a, b] = await pair();
    const svc = b.system.spawn(echo, { name: 'svc' });
    const byParts = await a.node.resolve<Ping>({ node: 'b', path: '/user/svc' });
    const byAddress = await a.node.resolve<Ping>(`troupe://${cluster.name}@b/user/svc`);
    expect(byParts).toBe(byAddress); // the same interned ref
    expect(byParts.id).toBe(svc.id);
    expect((await byParts.ask<Pong>((replyTo) => ({ type: 'ping', replyTo }))).from).toBe(svc.id);
    // With an #id: only that incarnation.
    await expect(a.node.resolve(`troupe://${cluster.name}@b/user/svc#${svc.id}`)).resolves.toBe(byParts);
    // On this node too.
    const mine = a.system.spawn(echo, { name: 'mine' });
    await expect(a.node.resolve({ node: 'a', path: '/user/mine' })).resolves.toBe(mine);
  });

  it('nothing there is ActorNotFoundError, answered at once; a node down is NodeUnreachableError', async () => {
    const [a, b] = await pair();
    const started = Date.now();
    const error = await a.node
      .resolve({ node: 'b', path: '/user/none' }, { timeoutMs: 30_000 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ActorNotFoundError);
    expect(error).toMatchObject({ address: `troupe://${cluster.name}@b/user/none` });
    const svc = b.system.spawn(echo, { name: 'svc' });
    await expect(a.node.resolve(`troupe://${cluster.name}@b/user/svc#not-${svc.id}`)).rejects.toBeInstanceOf(
      ActorNotFoundError,
    );
    await expect(a.node.resolve({ node: 'a', path: '/user/none' })).rejects.toBeInstanceOf(
      ActorNotFoundError,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(a.node.resolve({ node: 'zz', path: '/user/svc' })).rejects.toBeInstanceOf(
      NodeUnreachableError,
    );
    await expect(a.node.resolve('troupe://other@b/user/svc')).rejects.toThrow(/another cluster/);
    await expect(a.node.resolve({ node: 'b', path: 'user' })).rejects.toBeInstanceOf(TypeError);
    await expect(a.node.resolve({ node: 'b', path: '/user/svc' }, { timeoutMs: 0 })).rejects.toBeInstanceOf(
      RangeError,
    );
  });

  it('garbage on a node’s request subject is answered with an error and counted; the node goes on', async () => {
    const [a, b] = await pair();
    const raw = await connect({ servers: server.url });
    try {
      const subject = `troupe.${cluster.name}.rpc.b`;
      for (const body of ['not json', '[]', '{"op":"format-disk"}', '{"op":"resolve","path":"x"}']) {
        const reply = await raw.request(subject, body, { timeout: 2000 });
        expect(reply.json()).toHaveProperty('error');
      }
      expect(b.node.stats().invalidFrames).toBe(4);
      b.system.spawn(echo, { name: 'svc' });
      await expect(a.node.resolve({ node: 'b', path: '/user/svc' })).resolves.toBeDefined();
    } finally {
      await raw.close();
    }
  });

  it('a peer restarted under the same name: the old ref fails at once (ask, send, tell, watch); the path finds the new one', async () => {
    const [a, b] = await pair();
    const old = b.system.spawn(echo, { name: 'svc' });
    const oldRef = await a.node.resolve<Ping>({ node: 'b', path: '/user/svc' });
    await oldRef.ask((replyTo) => ({ type: 'ping', replyTo }));
    // b dies without a goodbye and comes back under its name, with its well-known actor.
    await b.node.connection.close();
    const b2 = await cluster.start('b');
    const fresh = b2.system.spawn(echo, { name: 'svc' });
    await waitFor(
      () => a.node.members().includes('b') && a.events.some((e) => e.type === 'NodeDown'),
      'a sees b2',
    );

    const started = Date.now();
    await expect(
      oldRef.ask((replyTo) => ({ type: 'ping', replyTo }), { timeoutMs: 60_000 }),
    ).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(oldRef.send({ type: 'ping', replyTo: a.system.spawn(sink) })).rejects.toBeInstanceOf(
      ActorStoppedError,
    );
    const seen: Terminated[] = [];
    a.system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.watch(oldRef);
          return null;
        },
        onTerminated: (s, t) => {
          seen.push(t);
          return s;
        },
      }),
    );
    await waitFor(() => seen.length === 1, 'Terminated of the old incarnation');
    expect(Date.now() - started).toBeLessThan(1000);
    const before = a.deadLetters().length;
    oldRef.tell({ type: 'ping', replyTo: a.system.spawn(sink) });
    expect(
      a
        .deadLetters()
        .slice(before)
        .map((d) => d.reason),
    ).toEqual(['stopped']);

    const newRef = await a.node.resolve<Ping>({ node: 'b', path: '/user/svc' });
    expect(newRef.id).toBe(fresh.id);
    expect(newRef.id).not.toBe(old.id);
    expect((await newRef.ask<Pong>((replyTo) => ({ type: 'ping', replyTo }))).from).toBe(fresh.id);
  });
});
