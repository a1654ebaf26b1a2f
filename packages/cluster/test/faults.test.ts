// Faults with a real broker: a NATS server killed and restarted mid-traffic, and (below) a node
// process killed with SIGKILL. Counts must reconcile exactly: nothing vanishes uncounted.
import { type ClusterNode, joinCluster, serviceKey } from '@troupe/cluster';
import {
  type ActorRef,
  ActorSystem,
  type DeadLetter,
  type Message,
  receive,
  type SystemEvent,
} from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';

const unavailable = natsUnavailable();

const FD = { heartbeatMs: 100, downAfterMs: 500 };

describe.skipIf(unavailable !== null)('faults', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function node(
    name: string,
    url: string,
  ): Promise<{ system: ActorSystem; node: ClusterNode; events: SystemEvent[] }> {
    const system = ActorSystem.start({ name });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    const n = await joinCluster(system, { servers: url, cluster: 'faults', node: name, failureDetector: FD });
    cleanup.push(() => system.shutdown());
    return { system, node: n, events };
  }

  it('a broker SIGKILLed and restarted mid-traffic, both nodes alive: every message is delivered exactly once, in order; sends and asks in flight complete', async () => {
    const server = await startNatsServer();
    cleanup.push(() => server.stop());
    const a = await node('a', server.url);
    const b = await node('b', server.url);
    await waitFor(() => a.node.members().includes('b') && b.node.members().includes('a'), 'a and b up');

    const got: number[] = [];
    const counter = b.system.spawn(
      receive<null, { type: 'n'; n: number } | { type: 'q'; n: number; replyTo: ActorRef<Message> }>(
        null,
        (s, m) => {
          if (m.type === 'q') m.replyTo.tell({ type: 'a', n: m.n } as Message);
          else got.push(m.n);
          return s;
        },
      ),
      { name: 'counter', mailbox: { capacity: 1_000_000 } },
    );
    const remote = a.node.refFor<
      { type: 'n'; n: number } | { type: 'q'; n: number; replyTo: ActorRef<Message> }
    >(b.node.addressOf(counter));
    let told = 0;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++) remote.tell({ type: 'n', n: told++ });
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    for (let i = 0; i < 10; i++) {
      burst(500);
      await pause(5);
    }
    // A send and an ask in flight across the crash: one link, in order, behind the tells.
    const sending = remote.send({ type: 'n', n: told++ });
    const asking = remote.ask<Message>((replyTo) => ({ type: 'q', n: -1, replyTo }), { timeoutMs: 30_000 });
    await server.kill(); // mid-traffic
    for (let i = 0; i < 20; i++) {
      burst(200); // during the outage: held in the link, sent after the reconnect
      await pause(50);
    }
    await server.restart();
    await waitFor(() => a.node.connected && b.node.connected, 'both reconnected', 15_000);
    for (let i = 0; i < 10; i++) {
      burst(500);
      await pause(5);
    }
    await sending;
    await expect(asking).resolves.toMatchObject({ type: 'a', n: -1 });
    await waitFor(() => got.length === told, `b handled all ${told}`, 15_000);

    // Exactly once, in order: nothing lost, nothing twice, though frames were resent.
    expect(got).toEqual([...Array(told).keys()]);
    const peerOf = (n: ClusterNode, peer: string) => n.stats().peers.find((p) => p.node === peer);
    await waitFor(() => peerOf(a.node, 'b')?.acknowledged === told + 1, 'a saw every message acknowledged');
    const sent = peerOf(a.node, 'b');
    const received = peerOf(b.node, 'a');
    expect(sent).toMatchObject({ sent: told + 1, undeliverable: 0, acknowledged: told + 1, lost: 0 });
    expect(received).toMatchObject({ received: told + 1, delivered: told + 1, deadLettered: 0 });
    if (process.env.TROUPE_VERBOSE) console.log({ told, sent, received });
    // Neither declared the other down: each was cut off from NATS, not from its peer.
    expect(a.events.some((e) => e.type === 'NodeDown' || e.type === 'MessagesLost')).toBe(false);
    expect(b.events.some((e) => e.type === 'NodeDown' || e.type === 'MessagesLost')).toBe(false);
    expect(a.events.filter((e) => e.type === 'DeadLetter')).toEqual([]);
  }, 60_000);

  it('a slow remote consumer under send: the producer slows to its pace, and nothing is lost', async () => {
    const server = await startNatsServer();
    cleanup.push(() => server.stop());
    const a = await node('a', server.url);
    const b = await node('b', server.url);
    await waitFor(() => a.node.members().includes('b'), 'a sees b');
    let handled = 0;
    const slow = b.system.spawn(
      receive<null, Message>(null, async (s) => {
        await new Promise((r) => setTimeout(r, 2));
        handled++;
        return s;
      }),
      { mailbox: { capacity: 8 } },
    );
    const remote = a.node.refFor<{ type: 'n'; n: number }>(b.node.addressOf(slow));
    const N = 300;
    let maxAhead = 0;
    for (let n = 0; n < N; n++) {
      await remote.send({ type: 'n', n });
      maxAhead = Math.max(maxAhead, n + 1 - handled);
    }
    // Accepted by the remote mailbox before each send resolved: never more than its capacity
    // (plus the one in hand) ahead of the consumer.
    expect(maxAhead).toBeLessThanOrEqual(8 + 1);
    await waitFor(() => handled === N, 'every message handled');
    expect(b.system.deadLetters).toBe(0);
  }, 30_000);
});

describe.skipIf(unavailable !== null)('a node process killed with SIGKILL', () => {
  it('peers see NodeDown within the detector bound; watchers get Terminated(nodeDown); asks fail fast; the registry drops its refs', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const server = await startNatsServer();
    const system = ActorSystem.start({ name: 'watcher' });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    try {
      const a = await joinCluster(system, {
        servers: server.url,
        cluster: 'kill',
        node: 'a',
        failureDetector: FD,
      });
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@troupe/source',
          fileURLToPath(new URL('./support/echo-node.ts', import.meta.url)),
          server.url,
          'kill',
          'b',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const key = serviceKey<Message>('echo');
      let listed = 0;
      a.subscribe(key, (refs) => {
        listed = refs.length;
      });
      await waitFor(() => listed === 1, 'the child registered its echo actor', 20_000);
      const [echo] = await a.find(key);
      const terminated: unknown[] = [];
      const watcher = system.spawn(
        receive<null, { type: 'watch'; ref: ActorRef<Message> }>(
          null,
          (s, m, ctx) => {
            ctx.watch(m.ref);
            return s;
          },
          {
            onTerminated: (s, t) => {
              terminated.push(t.reason);
              return s;
            },
          },
        ),
      );
      watcher.tell({ type: 'watch', ref: echo as ActorRef<Message> });
      const asking = (echo as ActorRef<{ type: 'hold'; replyTo: ActorRef<Message> }>).ask(
        (replyTo) => ({ type: 'hold', replyTo }),
        { timeoutMs: 60_000 },
      );
      // The watch and the held ask are on the link to b; a ping round trip behind them proves
      // both arrived (one link, in order).
      await settle(system);
      await (echo as ActorRef<{ type: 'ping'; replyTo: ActorRef<Message> }>).ask((replyTo) => ({
        type: 'ping',
        replyTo,
      }));
      // A flood of tells to b while it is killed: each ends up acknowledged, lost (sent, never
      // acknowledged: fate unknown) or undeliverable (never sent), exactly.
      let told = 0;
      let flooding = true;
      const noop = echo as ActorRef<{ type: 'noop'; n: number }>;
      const flood = () => {
        if (!flooding) return;
        for (let i = 0; i < 200; i++) noop.tell({ type: 'noop', n: told++ });
        setImmediate(flood);
      };
      flood();
      await new Promise((r) => setTimeout(r, 100));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await expect(asking).rejects.toMatchObject({ name: 'NodeUnreachableError', node: 'b' });
      const detectedIn = Date.now() - killedAt;
      expect(detectedIn).toBeLessThan(FD.downAfterMs + 3 * FD.heartbeatMs + 1000);
      await waitFor(() => terminated.length === 1, 'Terminated(nodeDown)');
      expect(terminated[0]).toEqual({ type: 'nodeDown', node: 'b' });
      expect(events.some((e) => e.type === 'NodeDown' && e.node === 'b')).toBe(true);
      await waitFor(() => listed === 0, 'the registry dropped b');
      flooding = false;
      await settle(system);
      const peer = a.stats().peers.find((p) => p.node === 'b');
      expect(peer).toBeDefined();
      if (peer === undefined) return;
      const asks = 2; // the held ask and the ping, besides the flood
      expect(peer.sent + peer.undeliverable).toBe(told + asks);
      expect(peer.sent).toBe(peer.acknowledged + peer.lost);
      const lostEvents = events
        .filter((e) => e.type === 'MessagesLost' && e.node === 'b')
        .reduce((n, e) => n + (e as { count: number }).count, 0);
      expect(lostEvents).toBe(peer.lost);
      // Never sent: the link was full (b no longer acknowledged) or b was down. Each a dead letter here.
      const undeliverable = events.filter(
        (e): e is DeadLetter =>
          e.type === 'DeadLetter' && (e.message as { type?: string } | null)?.type === 'noop',
      );
      expect(undeliverable).toHaveLength(peer.undeliverable);
      expect(new Set(undeliverable.map((d) => d.reason))).toEqual(
        new Set(['mailboxFull', 'unreachable'].filter((r) => undeliverable.some((d) => d.reason === r))),
      );
    } finally {
      await system.shutdown();
      await server.stop();
    }
  }, 60_000);
});
