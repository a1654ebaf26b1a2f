/**
 * The cluster demo's launcher with real node processes, a real nats-server and real SQLite
 * files: a node killed with SIGKILL is started again, its ledger recovers, and at the end the
 * ledger holds every opportunity priced (nothing lost across the kill).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { natsUnavailable } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { type ClusterDemo, type NodeView, startClusterDemo } from '../src/cluster/launcher.js';
import { finalAccounting } from '../src/cluster/summary.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping the cluster demo tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('the cluster demo', () => {
  let demo: ClusterDemo | undefined;
  afterAll(async () => {
    await demo?.stop(1000);
  });
  const view = (name: string): NodeView => demo?.nodes().find((n) => n.name === name) as NodeView;

  it('restarts killed nodes; the ledger recovers and ends with every opportunity of the priced stream', async () => {
    demo = await startClusterDemo({ nodes: 3, restartDelayMs: 300, executeMs: 5 }, () => {});
    expect(demo.nodes().map((n) => [n.name, n.roles])).toEqual([
      ['node-1', ['source']],
      ['node-2', ['pricing']],
      ['node-3', ['execution']],
    ]);
    await waitFor(
      () => (view('node-3').state?.counters.ledger ?? 0) >= 20,
      'the ledger to record 20 executions',
      40_000,
    );
    const before = view('node-3').state?.counters.ledger ?? 0;
    expect(demo.kill('node-3')).toBe(true);
    await waitFor(() => view('node-3').status === 'down', 'node-3 down', 10_000);
    await waitFor(
      () => view('node-3').status === 'up' && view('node-3').starts === 2,
      'node-3 started again',
      30_000,
    );
    await waitFor(() => view('node-3').state !== undefined, 'node-3 to report', 10_000);
    const after = view('node-3').state?.counters;
    // Recovery found at least what node-3 had reported before the kill (the ledger is on disk).
    expect(after?.recovered ?? 0).toBeGreaterThanOrEqual(before);
    await waitFor(
      () => (view('node-3').state?.counters.ledger ?? 0) > (after?.recovered ?? 0),
      'new executions',
      30_000,
    );
    const texts = demo.events().map((e) => e.text);
    expect(texts.some((t) => t.startsWith('kill node-3: SIGKILL to pid'))).toBe(true);
    expect(texts).toEqual(
      expect.arrayContaining(['node-3 exited (SIGKILL); starting it again', 'observer: NodeDown node-3']),
    );
    await waitFor(
      () =>
        demo?.events().some((e) => e.text.startsWith('observer: Terminated(nodeDown) for the ledger')) ===
        true,
      "the observer's Terminated(nodeDown) for the ledger",
      10_000,
    );
    // The pricing node too: what it stored in the priced stream before the kill still reaches the ledger.
    expect(demo.kill('node-2')).toBe(true);
    await waitFor(
      () => view('node-2').status === 'up' && view('node-2').starts === 2,
      'node-2 started again',
      30_000,
    );
    await waitFor(
      () => (view('node-2').state?.counters.pricedPublished ?? 0) > 5,
      'node-2 pricing again',
      30_000,
    );

    // Each node's /metrics: Prometheus conventions (counters end in _total), every sample labelled with its node.
    const text = (await demo.metrics('node-2')) ?? '';
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(types.length).toBeGreaterThan(10);
    for (const [name, type] of types) if (type === 'counter') expect(name).toMatch(/_total$/);
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.every((l) => l.includes('node="node-2"'))).toBe(true);
    expect(text).toMatch(/troupe_peer_messages_sent_total\{peer="node-1",node="node-2"\} \d+/);
    expect(text).toMatch(/troupe_topic_delivered_total\{topic="blocks",node="node-2"\} [1-9]/);

    const { states, opportunities } = await demo.stop(15_000);
    demo = undefined;
    const ledger = states.find((s) => s.node === 'node-3')?.counters.ledger;
    expect(opportunities).toBeGreaterThan(before);
    expect(ledger).toBe(opportunities);
    expect(finalAccounting(states, opportunities).at(-1)).toMatch(/nothing lost$/);
    // The one actor-to-actor hop between nodes: node-3's reports to node-1's tally, counted on both
    // ends of the link (reports sent while node-1 was unreachable would be dead letters on node-3).
    const node1 = states.find((s) => s.node === 'node-1');
    const node3 = states.find((s) => s.node === 'node-3');
    const sentTo1 = node3?.cluster.peers.find((p) => p.node === 'node-1')?.sent ?? 0;
    expect(sentTo1).toBeGreaterThan(0);
    expect(node1?.counters.tallied).toBeGreaterThan(0);
  }, 120_000);
});
