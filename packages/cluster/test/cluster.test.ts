// Two nodes (two actor systems in this process) on a real nats-server of their own.

import { connect } from '@nats-io/transport-node';
import {
  ClusterJoinError,
  type ClusterNode,
  joinCluster,
  MessageEncodeError,
  NodeUnreachableError,
  serviceKey,
} from '@troupe/cluster';
import {
  type ActorRef,
  ActorStoppedError,
  ActorSystem,
  AskTimeoutError,
  type DeadLetter,
  type Message,
  receive,
  type SystemEvent,
  type Terminated,
} from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping cluster tests: ${unavailable}`);

type Ping = { type: 'ping'; n: number; replyTo: ActorRef<Pong> };
type Pong = { type: 'pong'; n: number; from: string };

const echo = receive<null, Ping | { type: 'silent' } | { type: 'crash' }>(null, (s, m, ctx) => {
  if (m.type === 'ping') m.replyTo.tell({ type: 'pong', n: m.n, from: ctx.self.path });
  if (m.type === 'crash') throw new Error('boom');
  return s;
});

interface Node {
  system: ActorSystem;
  node: ClusterNode;
  events: SystemEvent[];
}

describe.skipIf(unavailable !== null)('a cluster of two nodes on NATS', () => {
  let server: NatsServer;
  const started: Node[] = [];
  let clusterN = 0;

  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const n of started.splice(0)) await n.system.shutdown();
  });

  async function start(name: string, cluster: string, extra: Record<string, unknown> = {}): Promise<Node> {
    const system = ActorSystem.start({ name, askTimeoutMs: 2000 });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    const node = await joinCluster(system, {
      servers: server.url,
      cluster,
      node: name,
      failureDetector: { heartbeatMs: 100, downAfterMs: 600 },
      ...extra,
    });
    const n = { system, node, events };
    started.push(n);
    return n;
  }

  async function pair(): Promise<[Node, Node]> {
    const cluster = `c${++clusterN}`;
    const a = await start('a', cluster);
    const b = await start('b', cluster);
    await waitFor(
      () => a.node.members().includes('b') && b.node.members().includes('a'),
      'a and b see each other',
    );
    return [a, b];
  }

  const deadLetters = (n: Node) => n.events.filter((e): e is DeadLetter => e.type === 'DeadLetter');

  it('tell and ask across nodes; refs inside messages work where they arrive', async () => {
    const [a, b] = await pair();
    const target = b.system.spawn(echo, { name: 'echo' });
    const remote = a.node.refFor<Ping>(b.node.addressOf(target));
    expect(remote.path).toBe('/user/echo');

    const reply = await remote.ask<Pong>((replyTo) => ({ type: 'ping', n: 1, replyTo }));
    expect(reply).toEqual({ type: 'pong', n: 1, from: '/user/echo' });

    // A local actor's ref in a message: the reply comes back to it, in order.
    const got: number[] = [];
    const sink = a.system.spawn(
      receive<null, Pong>(null, (s, m) => {
        got.push(m.n);
        return s;
      }),
    );
    for (let n = 0; n < 500; n++) remote.tell({ type: 'ping', n, replyTo: sink });
    await waitFor(() => got.length === 500, '500 pongs');
    expect(got).toEqual([...Array(500).keys()]); // ordered per sender-receiver pair
    expect(a.events.some((e) => e.type === 'NodeUp' && e.node === 'b')).toBe(true);
  });

  it('a message for a path that does not exist is a stopped dead letter on the target node', async () => {
    const [a, b] = await pair();
    const ghost = a.node.refFor<Message>(`troupe://${a.node.cluster}@b/user/ghost#nope`);
    ghost.tell({ type: 'hello' });
    await waitFor(() => deadLetters(b).length > 0, 'a dead letter on b');
    expect(deadLetters(b)[0]).toMatchObject({ reason: 'stopped', message: { type: 'hello' } });
    expect(deadLetters(a)).toEqual([]);
    await expect(ghost.send({ type: 'hello' })).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('a message for a node that is not up is an unreachable dead letter here; send and ask fail at once', async () => {
    const [a] = await pair();
    const far = a.node.refFor<Message>(`troupe://${a.node.cluster}@nowhere/user/x#y`);
    far.tell({ type: 'hello' });
    expect(deadLetters(a).at(-1)).toMatchObject({ reason: 'unreachable', message: { type: 'hello' } });
    await expect(far.send({ type: 'hello' })).rejects.toBeInstanceOf(NodeUnreachableError);
    await expect(far.ask((replyTo) => ({ type: 'q', replyTo }))).rejects.toBeInstanceOf(NodeUnreachableError);
    expect(far.trySend({ type: 'hello' })).toMatchObject({ ok: false, reason: 'closed' });
  });

  it('an ask past its timeout rejects with AskTimeoutError; the late reply is a lateReply dead letter on the asking node', async () => {
    const [a, b] = await pair();
    let held: ActorRef<Pong> | undefined;
    const slow = b.system.spawn(
      receive<null, Ping | { type: 'release' }>(null, (s, m) => {
        if (m.type === 'ping') held = m.replyTo;
        else held?.tell({ type: 'pong', n: 0, from: 'late' });
        return s;
      }),
    );
    const remote = a.node.refFor<Ping | { type: 'release' }>(b.node.addressOf(slow));
    await expect(
      remote.ask<Pong>((replyTo) => ({ type: 'ping', n: 0, replyTo }), { timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(AskTimeoutError);
    remote.tell({ type: 'release' });
    await waitFor(() => deadLetters(a).some((d) => d.reason === 'lateReply'), 'a lateReply dead letter on a');
  });

  it('death watch across nodes: Terminated with the reason, for an actor already gone, and nodeDown when its node leaves', async () => {
    const [a, b] = await pair();
    const target = b.system.spawn(echo, { name: 'watched' });
    const other = b.system.spawn(echo, { name: 'other' });
    const seen: Terminated[] = [];
    const watcher = a.system.spawn(
      receive<null, { type: 'watch'; ref: ActorRef<Message> }>(
        null,
        (s, m, ctx) => {
          ctx.watch(m.ref);
          return s;
        },
        {
          onTerminated: (s, t) => {
            seen.push(t);
            return s;
          },
        },
      ),
    );
    const remoteTarget = a.node.refFor<Ping | { type: 'crash' }>(b.node.addressOf(target));
    watcher.tell({ type: 'watch', ref: remoteTarget });
    await settle(a.system); // the watcher handled it: its watch is on the link to b…
    // …ahead of the crash: one link, in order.
    remoteTarget.tell({ type: 'crash' }); // top-level actor fails: it stops with the error
    await waitFor(() => seen.length === 1, 'Terminated of the crashed actor');
    expect(seen[0]?.ref).toBe(remoteTarget);
    expect(seen[0]?.reason).toMatchObject({ type: 'error', error: { name: 'Error', message: 'boom' } });

    // Already dead, and a knows how it ended: that reason at once, as for a local actor.
    watcher.tell({ type: 'watch', ref: remoteTarget });
    await waitFor(() => seen.length === 2, 'Terminated of an actor already gone');
    expect(seen[1]?.reason).toMatchObject({ type: 'error', error: { message: 'boom' } });
    // An address whose actor never existed: b answers, reason shutdown.
    watcher.tell({ type: 'watch', ref: a.node.refFor(`troupe://${a.node.cluster}@b/user/never#x`) });
    await waitFor(() => seen.length === 3, 'Terminated of an actor that never was');
    expect(seen[2]?.reason).toEqual({ type: 'shutdown' });

    watcher.tell({ type: 'watch', ref: a.node.refFor(b.node.addressOf(other)) });
    await settle(a.system); // the watch is registered
    await b.node.leave();
    await waitFor(() => seen.length === 4, 'Terminated(nodeDown) when b leaves');
    expect(seen[3]?.reason).toEqual({ type: 'nodeDown', node: 'b' });
    expect(a.events.some((e) => e.type === 'NodeLeft' && e.node === 'b')).toBe(true);
  });

  it('a node that goes silent is declared down by the detector; asks in flight to it fail fast', async () => {
    const [a, b] = await pair();
    const stuck = b.system.spawn(receive<null, Message>(null, (s) => s));
    const remote = a.node.refFor<{ type: 'q'; replyTo: ActorRef<Message> }>(b.node.addressOf(stuck));
    const asking = remote.ask((replyTo) => ({ type: 'q', replyTo }), { timeoutMs: 30_000 });
    // Silence b without a goodbye: close its NATS connection under it.
    await b.node.connection.close();
    const t0 = Date.now();
    await expect(asking).rejects.toBeInstanceOf(NodeUnreachableError);
    expect(Date.now() - t0).toBeLessThan(5_000); // the detector's bound, not the ask's 30 s
    expect(a.events.some((e) => e.type === 'NodeDown' && e.node === 'b')).toBe(true);
  });

  it('the registry: a key registered on one node is found on the other, and goes when the actor stops', async () => {
    const [a, b] = await pair();
    const key = serviceKey<Ping>('echo');
    const listings: number[] = [];
    a.node.subscribe(key, (refs) => listings.push(refs.length));
    const e1 = b.system.spawn(echo, { name: 'e1' });
    b.node.register(key, e1);
    await waitFor(() => listings.at(-1) === 1, 'a sees the registration');
    const [found] = await a.node.find(key);
    const pong = await (found as ActorRef<Ping>).ask<Pong>((replyTo) => ({ type: 'ping', n: 7, replyTo }));
    expect(pong.n).toBe(7);
    await b.system.stop(e1);
    await waitFor(() => listings.at(-1) === 0, 'the registration goes with the actor');
    expect(() => a.node.register(key, found as ActorRef<Ping>)).toThrow(TypeError);
  });

  it('what cannot be encoded is an error at the send site, or an invalid dead letter for tell', async () => {
    const [a, b] = await pair();
    const target = b.system.spawn(echo);
    const remote = a.node.refFor<Message & Record<string, unknown>>(b.node.addressOf(target));
    const cyclic: Record<string, unknown> = { type: 'cyclic' };
    cyclic.self = cyclic;
    expect(() => remote.trySend({ type: 'fn', f: () => 1 })).toThrow(MessageEncodeError);
    expect(() => remote.trySend({ type: 'fn', f: () => 1 })).toThrow(TypeError); // misuse, as a non-message is locally
    expect(() => remote.trySend({ type: 'date', at: new Date() })).toThrow(/Date is not plain data/);
    await expect(remote.send(cyclic as Message & Record<string, unknown>)).rejects.toBeInstanceOf(
      MessageEncodeError,
    );
    await expect(remote.send({ type: 'big', s: 'x'.repeat(600 * 1024) })).rejects.toThrow(/maxMessageBytes/);
    remote.tell({ type: 'map', m: new Map() });
    expect(deadLetters(a).at(-1)).toMatchObject({ reason: 'invalid' });
    expect(deadLetters(a).at(-1)?.error).toBeInstanceOf(MessageEncodeError);
  });

  it('garbage on the cluster subjects is an invalid dead letter, counted, and the node keeps working', async () => {
    const [a, b] = await pair();
    const raw = await connect({ servers: server.url });
    const prefix = `troupe.${a.node.cluster}`;
    const frame = (header: unknown, payload = '') => {
      const h = Buffer.from(JSON.stringify(header));
      const out = Buffer.alloc(6 + h.length);
      out.write('T2');
      out.writeUInt32BE(h.length, 2);
      h.copy(out, 6);
      return Buffer.concat([out, Buffer.from(payload)]);
    };
    const target = b.system.spawn(echo, { name: 'target' });
    const t = b.node.incarnation;
    const badFrames: Uint8Array[] = [
      new Uint8Array([0, 1, 2, 3]),
      Buffer.from('{"not":"a frame"}'),
      frame({ f: 'x', i: 'y', t, s: 0, w: 0, e: [[9, 'a', 'b']] }), // unknown entry kind
      frame({ f: 'x', i: 'y', t, s: 0, w: 0, e: [[0, '/user/target', target.id, 50]] }, 'short'), // length overruns
      frame({ f: 'x', i: 'y', t, s: 0, e: [[0, '/user/target', target.id, 2]] }, '{}'), // no window base
      frame({ f: 'x', i: 'y', t, s: 0, w: 5, e: [[0, '/user/target', target.id, 2]] }, '{}'), // base after its first entry
      frame({ f: 'x', i: 'y', t, s: 0, w: 0, a: [5, 1], e: [] }), // an ack settling more than arrived
    ];
    const wellFormed: Uint8Array[] = [
      frame({ f: 'x', i: 'y', t, s: 0, w: 0, e: [[0, '/user/target', target.id, 3]] }, 'abc'), // payload not JSON
      frame({ f: 'x', i: 'y', t, s: 1, w: 0, e: [[0, '/user/target', target.id, 15]] }, '{"__proto__":1}'), // no type
      frame({ f: 'x', i: 'y', t, s: 2, w: 0, e: [[0, '/user/../etc', 'i', 2]] }, '{}'), // targets nothing
      frame({ f: 'x', i: 'y', t, s: 0, w: 0, e: [[0, '/user/target', target.id, 2]] }, '{}'), // a replayed sequence number
      frame({ f: 'x', i: 'y', t: 'an-old-one', s: 3, w: 0, e: [[0, '/user/target', target.id, 2]] }, '{}'), // for an earlier incarnation
    ];
    for (const g of [...badFrames, ...wellFormed]) raw.publish(`${prefix}.node.b`, g);
    raw.publish(`${prefix}.hb`, Buffer.from('{"v":2,"k":"hb","n":"../../x","i":"1","q":{}}'));
    raw.publish(
      `${prefix}.reg`,
      Buffer.from('{"v":1,"n":"x","i":"1","keys":{"k":["troupe://other@x/user/a#1"]}}'),
    );
    await raw.flush();
    await raw.close();
    const invalid = badFrames.length + 2;
    await waitFor(() => b.node.stats().invalidFrames === invalid, `${invalid} invalid frames counted on b`);
    // Each one a dead letter; then 2 bad payloads (invalid) and 1 for nothing there (stopped).
    const reasons = () => deadLetters(b).map((d) => d.reason);
    await waitFor(() => reasons().length === invalid + 3, 'a dead letter for each');
    expect(reasons().filter((r) => r === 'invalid')).toHaveLength(invalid + 2);
    expect(reasons().filter((r) => r === 'stopped')).toHaveLength(1);
    expect(b.node.stats().staleFrames).toBe(1);
    // The replayed entry was dropped as a duplicate, not handled twice.
    expect(b.node.stats().peers.find((p) => p.node === 'x')).toMatchObject({ received: 3, duplicates: 1 });
    expect(b.node.members()).not.toContain('x'); // a frame does not make a member
    // Still works both ways.
    const remote = a.node.refFor<Ping>(b.node.addressOf(target));
    expect((await remote.ask<Pong>((replyTo) => ({ type: 'ping', n: 3, replyTo }))).n).toBe(3);
    expect(b.node.members()).toContain('a');
  });

  it('a full link follows its overflow policy: under block a tell is a mailboxFull dead letter, trySend says full', async () => {
    const cluster = `c${++clusterN}`;
    const a = await start('a', cluster, { link: { capacity: 10 } });
    const b = await start('b', cluster);
    await waitFor(() => a.node.members().includes('b') && b.node.members().includes('a'), 'a and b up');
    let counted = 0;
    const counter = b.system.spawn(
      receive<null, Message>(null, (s) => {
        counted++;
        return s;
      }),
    );
    const remote = a.node.refFor<Message>(b.node.addressOf(counter));
    for (let i = 0; i < 100; i++) remote.tell({ type: 'n' }); // one turn: the link holds 10
    expect(remote.trySend({ type: 'n' })).toMatchObject({ ok: false, reason: 'full' });
    expect(deadLetters(a).filter((d) => d.reason === 'mailboxFull')).toHaveLength(90);
    await waitFor(() => counted === 10, 'the 10 the link held arrive');
    expect(a.node.stats().peers[0]).toMatchObject({ node: 'b', sent: 10, undeliverable: 90 });
  });

  it('a tell to a full remote mailbox is its mailboxFull dead letter on the target node, as locally; what follows is not held back', async () => {
    const [a, b] = await pair();
    const got: number[] = [];
    let gate: (() => void) | undefined;
    const small = b.system.spawn(
      receive<null, { type: 'n'; n: number }>(null, async (s, m) => {
        if (m.n === 0) await new Promise<void>((r) => (gate = r)); // busy with the first
        got.push(m.n);
        return s;
      }),
      { mailbox: { capacity: 16 } },
    );
    const other: number[] = [];
    const free = b.system.spawn(
      receive<null, { type: 'n'; n: number }>(null, (s, m) => {
        other.push(m.n);
        return s;
      }),
    );
    const remote = a.node.refFor<{ type: 'n'; n: number }>(b.node.addressOf(small));
    const remoteFree = a.node.refFor<{ type: 'n'; n: number }>(b.node.addressOf(free));
    for (let n = 0; n < 100; n++) remote.tell({ type: 'n', n }); // one frame, 6× the mailbox
    remoteFree.tell({ type: 'n', n: 1 }); // behind them on the same link
    await waitFor(() => other.length === 1, 'the other actor got its message at once');
    await waitFor(() => gate !== undefined, 'the first is in hand');
    const full = deadLetters(b).filter((d) => d.reason === 'mailboxFull');
    // The frame arrives in one turn: 16 fit the mailbox; the 84 others are dead letters on b,
    // exactly as 100 local tells in one turn would be.
    expect(full).toHaveLength(84);
    expect(full.map((d) => (d.message as { n: number }).n)).toEqual([...Array(84).keys()].map((i) => i + 16));
    expect(deadLetters(a)).toEqual([]);
    expect(b.system.inspect(small)).toMatchObject({ received: 16 });
    gate?.();
    await waitFor(() => got.length === 16, 'the 16 accepted are handled');
    expect(got).toEqual([...Array(16).keys()]);
    const peer = b.node.stats().peers.find((p) => p.node === 'a');
    expect(peer).toMatchObject({ received: 101, delivered: 17, deadLettered: 84 });
  });

  it('system.shutdown() leaves the cluster: peers see NodeLeft at once, not after the detector', async () => {
    const [a, b] = await pair();
    await b.system.shutdown();
    expect(b.node.connected).toBe(false);
    await waitFor(() => a.events.some((e) => e.type === 'NodeLeft' && e.node === 'b'), 'NodeLeft on a');
    expect(a.events.some((e) => e.type === 'NodeDown')).toBe(false); // the goodbye came before the detector's verdict
  });

  it('two clusters on one server never see each other', async () => {
    const x = await start('a', 'left');
    const y = await start('b', 'right');
    const z = await start('c', 'left');
    await waitFor(() => x.node.members().includes('c'), 'x sees c');
    await new Promise((r) => setTimeout(r, 300)); // three heartbeat rounds: time to hear another cluster
    expect(y.node.stats().peers).toEqual([]);
    expect(x.node.members()).toEqual(['c']);
    expect(y.node.members()).toEqual([]);
    expect(z.node.members()).toEqual(['a']);
  });

  it('bad options are refused before anything connects, naming the field', async () => {
    const system = ActorSystem.start({ name: 'opts' });
    try {
      await expect(joinCluster(system, { servers: server.url, cluster: 'has space' })).rejects.toThrow(
        /cluster must be/,
      );
      await expect(joinCluster(system, { servers: [], cluster: 'x' })).rejects.toThrow(/servers/);
      await expect(
        joinCluster(system, {
          servers: server.url,
          cluster: 'x',
          failureDetector: { heartbeatMs: 500, downAfterMs: 100 },
        }),
      ).rejects.toThrow(/downAfterMs/);
      await expect(
        joinCluster(system, { servers: server.url, cluster: 'x', link: { capacity: 0 } }),
      ).rejects.toThrow(/link.capacity/);
      await expect(
        joinCluster(system, { servers: server.url, cluster: 'x', colour: 'red' } as never),
      ).rejects.toThrow(/unknown option "colour"/);
    } finally {
      await system.shutdown();
    }
  });
});

describe.skipIf(unavailable !== null)('joining with credentials', () => {
  it('wrong credentials fail to join with a clear ClusterJoinError; right ones join', async () => {
    const server = await startNatsServer({ config: 'authorization { token: "s3cret" }\n' });
    const system = ActorSystem.start({ name: 'creds' });
    try {
      const bad = joinCluster(system, {
        servers: server.url,
        cluster: 'sec',
        auth: { token: 'wrong' },
        connectTimeoutMs: 2000,
      });
      await expect(bad).rejects.toBeInstanceOf(ClusterJoinError);
      await expect(bad).rejects.toThrow(/Authorization|authorization/);
      const good = await joinCluster(system, {
        servers: server.url,
        cluster: 'sec',
        auth: { token: 's3cret' },
      });
      expect(good.connected).toBe(true);
    } finally {
      await system.shutdown();
      await server.stop();
    }
  });
  it("user and password pass through, and a user limited to the cluster's subjects can run a node", async () => {
    const server = await startNatsServer({
      config:
        'authorization { users = [ { user: shop, password: "pw", permissions: { publish: { allow: ["troupe.shop.>"] }, subscribe: { allow: ["troupe.shop.>"] } } } ] }\n',
    });
    const one = ActorSystem.start({ name: 'one' });
    const two = ActorSystem.start({ name: 'two' });
    try {
      await expect(
        joinCluster(one, { servers: server.url, cluster: 'shop', auth: { user: 'shop', pass: 'nope' } }),
      ).rejects.toBeInstanceOf(ClusterJoinError);
      const a = await joinCluster(one, {
        servers: server.url,
        cluster: 'shop',
        node: 'a',
        auth: { user: 'shop', pass: 'pw' },
      });
      const b = await joinCluster(two, {
        servers: server.url,
        cluster: 'shop',
        node: 'b',
        auth: { user: 'shop', pass: 'pw' },
      });
      const target = two.spawn(echo);
      const remote = a.refFor<Ping>(b.addressOf(target));
      await waitFor(() => a.members().includes('b'), 'a sees b');
      expect((await remote.ask<Pong>((replyTo) => ({ type: 'ping', n: 5, replyTo }))).n).toBe(5);
    } finally {
      await one.shutdown();
      await two.shutdown();
      await server.stop();
    }
  });
});
