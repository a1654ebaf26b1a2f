/**
 * A node's Prometheus metrics (`GET /metrics` on each node), following Prometheus naming:
 * `_total` counters, base units, every sample labelled with `node`. Read at scrape time from
 * the actor tree, the cluster node's per-peer counters, and the flow's counters. Also the
 * merge the launcher uses to serve the whole cluster on one endpoint.
 */
import type { ClusterNode } from '@troupe/cluster';
import type { ActorSystem, ActorTreeNode } from '@troupe/runtime';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FlowCounters } from './flow.js';

export function nodeMetrics(
  system: ActorSystem,
  node: ClusterNode,
  counters: FlowCounters,
  deadLetters: ReadonlyMap<string, number>,
): { contentType: string; scrape(): Promise<string> } {
  const registry = new Registry();
  registry.setDefaultLabels({ node: node.name });
  collectDefaultMetrics({ register: registry });
  const actors = (): ActorTreeNode[] => flatten(system.tree(), []);

  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    values: () => Iterable<[Record<L, string>, number]>,
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of values()) this.inc(labels as never, value);
      },
    });

  counter(
    'troupe_actor_processed_total',
    'Messages handled, per actor (this process).',
    ['path'],
    function* () {
      for (const a of actors()) yield [{ path: a.path }, a.processed];
    },
  );
  counter(
    'troupe_actor_restarts_total',
    'Supervised restarts, per actor (this process).',
    ['path'],
    function* () {
      for (const a of actors()) yield [{ path: a.path }, a.restarts];
    },
  );
  counter('troupe_dead_letters_total', 'Dead letters on this node, by reason.', ['reason'], function* () {
    for (const [reason, n] of deadLetters) yield [{ reason }, n];
  });
  const peer = (
    field: 'sent' | 'received' | 'delivered' | 'deadLettered' | 'lost' | 'undeliverable' | 'resent',
  ) =>
    function* (): Iterable<[Record<'peer', string>, number]> {
      for (const p of node.stats().peers) yield [{ peer: p.node }, p[field]];
    };
  counter('troupe_peer_messages_sent_total', 'Messages sent to each peer node.', ['peer'], peer('sent'));
  counter(
    'troupe_peer_messages_received_total',
    'Messages received from each peer node.',
    ['peer'],
    peer('received'),
  );
  counter(
    'troupe_peer_messages_lost_total',
    'Messages sent to each peer and never acknowledged before it went down or left (fate unknown).',
    ['peer'],
    peer('lost'),
  );
  counter(
    'troupe_peer_messages_resent_total',
    'Messages sent again to each peer after a reconnect or a gap (the retransmit window).',
    ['peer'],
    peer('resent'),
  );
  counter(
    'troupe_peer_messages_dead_lettered_total',
    'Messages from each peer that became dead letters here.',
    ['peer'],
    peer('deadLettered'),
  );
  counter(
    'troupe_peer_messages_undeliverable_total',
    'Messages for each peer that could not be sent (it was down).',
    ['peer'],
    peer('undeliverable'),
  );
  counter('troupe_topic_published_total', 'Events this node published, per topic.', ['topic'], function* () {
    yield [{ topic: 'blocks' }, counters.blocksPublished];
    yield [{ topic: 'priced' }, counters.pricedPublished];
  });
  counter(
    'troupe_topic_delivered_total',
    'Events delivered to this node’s subscribers, per topic.',
    ['topic'],
    function* () {
      yield [{ topic: 'blocks' }, counters.blocksDelivered];
      yield [{ topic: 'priced' }, counters.pricedDelivered];
    },
  );
  counter(
    'troupe_topic_lagged_total',
    'Events this node’s subscribers missed (told as Lagged), per topic.',
    ['topic'],
    function* () {
      yield [{ topic: 'blocks' }, counters.lagged];
    },
  );
  counter(
    'troupe_executions_total',
    'Opportunities this process executed and recorded in the ledger.',
    [],
    function* () {
      yield [{}, counters.executed];
    },
  );
  new Gauge({
    name: 'troupe_ledger_entries',
    help: 'Entries in the ledger (event-sourced, recovered at start).',
    registers: [registry],
    collect() {
      this.set(counters.ledger);
    },
  });
  new Gauge({
    name: 'troupe_peer_up',
    help: '1 while the peer node is up, 0 when down or left.',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of node.stats().peers) this.set({ peer: p.node }, p.status === 'up' ? 1 : 0);
    },
  });
  return { contentType: registry.contentType, scrape: () => registry.metrics() };
}

function flatten(node: ActorTreeNode, out: ActorTreeNode[]): ActorTreeNode[] {
  out.push(node);
  for (const child of node.children) flatten(child, out);
  return out;
}

/**
 * Merges the text expositions of several nodes into one valid exposition: each metric family
 * once (its HELP and TYPE), followed by every node's samples (they differ by their `node` label).
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  for (const text of texts) {
    let current: { help: string; type: string; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta !== null) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        current = families.get(name);
        if (current === undefined) {
          current = { help: '', type: '', samples: [] };
          families.set(name, current);
        }
        if (kind === 'HELP') current.help ||= `# HELP ${name} ${rest}`;
        else current.type ||= `# TYPE ${name} ${rest}`;
      } else if (!line.startsWith('#')) {
        current?.samples.push(line);
      }
    }
  }
  const out: string[] = [];
  for (const family of families.values()) {
    if (family.help !== '') out.push(family.help);
    if (family.type !== '') out.push(family.type);
    out.push(...family.samples);
  }
  return `${out.join('\n')}\n`;
}
