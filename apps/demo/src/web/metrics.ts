/**
 * The demo's Prometheus metrics (`GET /metrics`): per-actor and per-topic counters read from
 * `system.tree()` at scrape time, the workers' handler times, and Node's process metrics.
 */
import type { ActorSystem, ActorTreeNode } from '@troupe/runtime';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DashboardApp } from '../dashboard/app.js';

/** Handler-time buckets, in seconds: from 50 µs (a plain handler) to 5 s. */
export const HANDLER_SECONDS_BUCKETS = [
  0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * A dedicated registry whose metrics are read from `system.tree()` at scrape time (collect
 * callbacks). `scrape()` walks the tree once and shares it among every metric's collect.
 *
 * **Counters never go down.** The tree's numbers restart at 0 when an actor is started anew (a
 * topic restarted by its supervisor forgets its counts; the keeper starts a fresh app). Each
 * counter adds what it had reached before such a reset, so it only grows. Increments made
 * after the last scrape and before a reset are not seen.
 */
export function actorMetrics(
  system: ActorSystem,
  app: DashboardApp,
): { contentType: string; scrape(): Promise<string>; observeHandlerTimes(): () => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let current: ActorTreeNode[] | undefined;
  const nodes = (): ActorTreeNode[] => current ?? flatten(system.tree(), []);
  const perActor = (
    name: string,
    help: string,
    pick: (node: ActorTreeNode) => number,
    kind: 'counter' | 'gauge' = 'counter',
  ) => {
    const config = { name, help, labelNames: ['path'] as const, registers: [registry] };
    if (kind === 'gauge') {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          for (const node of nodes()) this.set({ path: node.path }, pick(node));
        },
      });
    } else {
      const total = monotonic();
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const node of nodes()) this.inc({ path: node.path }, total(node.path, pick(node)));
        },
      });
    }
  };
  perActor('troupe_actor_received_total', 'Messages that entered the actor’s mailbox.', (n) => n.received);
  perActor('troupe_actor_processed_total', 'Messages the actor handled.', (n) => n.processed);
  perActor('troupe_actor_failed_total', 'Messages whose handling threw.', (n) => n.failed);
  perActor('troupe_actor_unhandled_total', 'Messages the behaviour did not handle.', (n) => n.unhandled);
  perActor(
    'troupe_actor_dropped_total',
    'Messages dropped by the mailbox policy or refused at a full mailbox.',
    (n) => n.dropped,
  );
  perActor('troupe_actor_restarts_total', 'Restarts by the actor’s supervisor.', (n) => n.restarts);
  perActor('troupe_actor_mailbox_depth', 'Messages queued now.', (n) => n.mailboxDepth, 'gauge');

  const published = monotonic();
  new Counter({
    name: 'troupe_topic_published_total',
    help: 'Events published to a topic (from its stats).',
    labelNames: ['topic'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const node of nodes()) {
        const count = topicPublished(node.details);
        if (count !== undefined) this.inc({ topic: node.path }, published(node.path, count));
      }
    },
  });
  const perSubscription = (name: string, help: string, pick: (s: Subscription) => number) => {
    const total = monotonic();
    return new Counter({
      name,
      help,
      labelNames: ['topic', 'subscriber'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const node of nodes())
          for (const sub of subscriptions(node.details))
            this.inc(
              { topic: node.path, subscriber: sub.subscriber },
              total(`${node.path} ${sub.subscriber}`, pick(sub)),
            );
      },
    });
  };
  perSubscription(
    'troupe_topic_delivered_total',
    'Events a topic delivered to a subscriber.',
    (s) => s.delivered,
  );
  perSubscription('troupe_topic_missed_total', 'Events a lagging subscriber missed.', (s) => s.missed);

  const deadLetters = monotonic();
  new Counter({
    name: 'troupe_dead_letters_total',
    help: 'Messages that could not be delivered (dead letters), since the system started.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(deadLetters('', system.deadLetters));
    },
  });
  new Counter({
    name: 'troupe_demo_app_escalations_total',
    help: 'Times the metrics app’s top supervisor gave up (the keeper then started it again).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(app.health().escalations);
    },
  });
  const handlerSeconds = new Histogram({
    name: 'troupe_demo_handler_seconds',
    help:
      'Wall time of each message’s handler in the demo’s workers, measured by the demo around the ' +
      'behaviour (excludes mailbox wait and ctx.pause delays); since the web server started.',
    labelNames: ['path'] as const,
    buckets: HANDLER_SECONDS_BUCKETS,
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    async scrape() {
      current = flatten(system.tree(), []);
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    },
    observeHandlerTimes: () => app.onHandled((path, seconds) => handlerSeconds.observe({ path }, seconds)),
  };
}

/**
 * A running total per key that never goes down: when a reading falls below the previous one
 * (its source started again from 0), what the previous one had reached is carried over.
 */
function monotonic(): (key: string, reading: number) => number {
  const seen = new Map<string, { last: number; carried: number }>();
  return (key, reading) => {
    const entry = seen.get(key) ?? { last: 0, carried: 0 };
    if (reading < entry.last) entry.carried += entry.last;
    entry.last = reading;
    seen.set(key, entry);
    return entry.carried + reading;
  };
}

/** A topic's `published` count from a tree node's `details` (TopicStats); undefined for other actors. */
function topicPublished(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const { published, subscriptions } = details as { published?: unknown; subscriptions?: unknown };
  return typeof published === 'number' && Array.isArray(subscriptions) ? published : undefined;
}

function flatten(node: ActorTreeNode, out: ActorTreeNode[]): ActorTreeNode[] {
  out.push(node);
  for (const child of node.children) flatten(child, out);
  return out;
}

interface Subscription {
  readonly subscriber: string;
  readonly delivered: number;
  readonly missed: number;
}

/** A topic's subscriptions from a tree node's `details` (TopicStats); none for other actors. */
function subscriptions(details: unknown): readonly Subscription[] {
  if (typeof details !== 'object' || details === null) return [];
  const subs = (details as { subscriptions?: unknown }).subscriptions;
  if (!Array.isArray(subs)) return [];
  return subs.filter(
    (s): s is Subscription =>
      typeof s === 'object' &&
      s !== null &&
      typeof (s as Subscription).subscriber === 'string' &&
      typeof (s as Subscription).delivered === 'number' &&
      typeof (s as Subscription).missed === 'number',
  );
}
