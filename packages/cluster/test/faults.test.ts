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

  it('a broker restart mid-traffic: nodes reconnect, traffic flows again, and every message is delivered, dead-lettered or reported lost', async () => {
    const server = await startNatsServer();
    cleanup.push(() => server.stop());
    const a = await node('a', server.url);
    const b = await node('b', server.url);
    await waitFor(() => a.node.members().includes('b') && b.node.members().includes('a'), 'a and b up');

    let counted = 0;
    const counter = b.system.spawn(
      receive<null, Message>(
        null,
        (s) => {
          counted++;
          return s;
        },
        {},
      ),
      { name: 'counter', mailbox: { capacity: 1_000_000 } },
    );
    const remote = a.node.refFor<{ type: 'n'; n: number }>(b.node.addressOf(counter));
    let told = 0;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++) remote.tell({ type: 'n', n: told++ });
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    for (let i = 0; i < 10; i++) {
      burst(500);
      await pause(5);
    }
    await server.kill(); // mid-traffic
    for (let i = 0; i < 20; i++) {
      burst(200); // during the outage: held, then unreachable once b is declared down
      await pause(50);
    }
    await server.restart();
    await waitFor(
      () => a.node.members().includes('b') && b.node.members().includes('a'),
      'a and b up again',
      15_000,
    );
    for (let i = 0; i < 10; i++) {
      burst(500);
      await pause(5);
    }

    const peerOf = (n: ClusterNode, peer: string) => n.stats().peers.find((p) => p.node === peer);
    await waitFor(() => {
      const sent = peerOf(a.node, 'b');
      const got = peerOf(b.node, 'a');
      return sent !== undefined && got !== undefined && got.received + got.lost === sent.sent;
    }, 'b has accounted for everything a published');

    const sent = peerOf(a.node, 'b');
    const got = peerOf(b.node, 'a');
    expect(sent).toBeDefined();
    expect(got).toBeDefined();
    if (sent === undefined || got === undefined) return;
    expect(sent.sent + sent.undeliverable).toBe(told);
    expect(got.received + got.lost).toBe(sent.sent);
    expect(got.delivered + got.deadLettered).toBe(got.received);
    const undeliverable = a.events.filter(
      (e): e is DeadLetter => e.type === 'DeadLetter' && e.recipient.includes('counter'),
    );
    expect(undeliverable.length).toBe(sent.undeliverable);
    expect(undeliverable.every((d) => d.reason === 'unreachable')).toBe(true);
    await waitFor(() => counted === got.delivered, 'the counter handled every delivered message');
    if (process.env.TROUPE_VERBOSE) console.log({ told, sent, got });
    const lostEvents = b.events
      .filter((e) => e.type === 'MessagesLost')
      .reduce((n, e) => n + (e as { count: number }).count, 0);
    expect(lostEvents).toBe(got.lost);
    // Traffic flowed after the restart: the last burst arrived.
    expect(got.delivered).toBeGreaterThanOrEqual(5000);
    expect(a.events.some((e) => e.type === 'NodeDown')).toBe(true);
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
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await expect(asking).rejects.toMatchObject({ name: 'NodeUnreachableError', node: 'b' });
      const detectedIn = Date.now() - killedAt;
      expect(detectedIn).toBeLessThan(FD.downAfterMs + 3 * FD.heartbeatMs + 1000);
      await waitFor(() => terminated.length === 1, 'Terminated(nodeDown)');
      expect(terminated[0]).toEqual({ type: 'nodeDown', node: 'b' });
      expect(events.some((e) => e.type === 'NodeDown' && e.node === 'b')).toBe(true);
      await waitFor(() => listed === 0, 'the registry dropped b');
    } finally {
      await system.shutdown();
      await server.stop();
    }
  }, 60_000);
});
