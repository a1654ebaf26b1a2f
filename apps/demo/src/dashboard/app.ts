/**
 * The live metrics dashboard scenario, supervised:
 *
 *   /user/metrics-app      supervisor, restForOne: if the topic restarts, everything after it
 *     metrics              Topic<MetricEvent>        restarts too and subscribes again
 *     subscribers          supervisor, oneForOne: dashboard, logger, alerter (XState machines)
 *     publishers           supervisor, oneForOne: web-server, database (timers)
 *   /user/keeper           starts metrics-app, watches it, and starts it again (with backoff)
 *                          when its supervisor gives up: the demo stays up whatever the page sends
 */
import { Topic, type TopicMessage, type TopicStats, topic } from '@troupe/actors';
import {
  type ActorRef,
  type ActorSystem,
  type ActorTreeNode,
  type DeadLetter,
  type Logger,
  type SupervisorMessage,
  supervisor,
} from '@troupe/runtime';
import type { Control, MetricEvent } from './events.js';
import { type HandlerTimeListener, timed } from './handler-time.js';
import { type KeeperHealth, keeper } from './keeper.js';
import { database, webServer } from './publishers.js';
import { type Alert, alerter, dashboard, logger, type Summary } from './subscribers.js';

export interface DashboardOptions {
  /** Terminal lines (`[dashboard]` summaries, `[ALERT]`, `[keeper]` …). */
  readonly print: (line: string) => void;
  /** pino logger the Logger actor writes every metric to. */
  readonly metricLog: Logger;
  /** Errors per minute above which the Alerter alerts (default 10). */
  readonly alertThreshold?: number;
  /** Publisher intervals in ms (defaults: web 100, db 250). */
  readonly webIntervalMs?: number;
  readonly dbIntervalMs?: number;
  /** Share of web requests that fail (default 0.03). */
  readonly errorRate?: number;
  readonly seed?: number;
}

/**
 * Outcome of a control request from the web page: applied, or why not — `invalid` input (the
 * page's fault: HTTP 400) or a target that is `unavailable` right now (HTTP 503: try again).
 */
export type CommandResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'invalid' | 'unavailable'; readonly error: string };

/** Whether the app's tree is up, and how often its top supervisor gave up (see keeper.ts). */
export type { KeeperHealth as AppHealth } from './keeper.js';

export interface DashboardApp {
  /** The app's top supervisor (the current incarnation: the keeper may start a new one). */
  readonly root: ActorRef<SupervisorMessage> | undefined;
  readonly metrics: ActorRef<TopicMessage<MetricEvent>>;
  /** Paths of the actors a user may crash or slow down. */
  readonly workers: readonly string[];
  /** The subset of `workers` that subscribe to the topic (the ones worth slowing down). */
  readonly subscribers: readonly string[];
  /** The last summaries (newest last), at most 120. */
  readonly summaries: readonly SummaryView[];
  /** The Alerter's last alerts and all-clears (newest last), at most 20. */
  readonly alerts: readonly Alert[];
  /** The last dead letters (newest last), at most 50. */
  readonly deadLetters: readonly DeadLetterView[];
  onSummary(listener: (summary: Summary) => void): () => void;
  /** Each message a worker handled, with its handler's wall time in seconds (see handler-time.ts). */
  onHandled(listener: HandlerTimeListener): () => void;
  health(): KeeperHealth;
  crash(path: unknown): CommandResult;
  slow(path: unknown, ms: unknown): CommandResult;
  flood(count: unknown): CommandResult;
  topicStats(): Promise<TopicStats>;
}

/** A dashboard summary, plus what every subscriber of the topic missed in that second. */
export interface SummaryView extends Summary {
  /** Events missed since the previous summary, summed over every subscription of the topic. */
  readonly missedAll: number;
}

export interface DeadLetterView {
  readonly reason: DeadLetter['reason'];
  readonly recipient: string;
  readonly message: string;
}

const APP = '/user/metrics-app';
const WORKERS = [
  `${APP}/subscribers/dashboard`,
  `${APP}/subscribers/logger`,
  `${APP}/subscribers/alerter`,
  `${APP}/publishers/web-server`,
  `${APP}/publishers/database`,
];

/** Starts the dashboard tree in `system`. */
export function startDashboard(system: ActorSystem, options: DashboardOptions): DashboardApp {
  const summaries: SummaryView[] = [];
  const alerts: Alert[] = [];
  const deadLetters: DeadLetterView[] = [];
  const listeners = new Set<(s: Summary) => void>();
  const handledListeners = new Set<HandlerTimeListener>();
  const observe: HandlerTimeListener = (path, seconds) => {
    for (const listener of handledListeners) listener(path, seconds);
  };
  // Missed events over every subscription, as last read: each summary carries the increase.
  let missedBefore = 0;
  const onSummary = (summary: Summary) => {
    const missedNow = missedOverSubscriptions(system, `${APP}/metrics`);
    // A topic started anew counts from 0 again: then all it counted is new.
    const missedAll = missedNow >= missedBefore ? missedNow - missedBefore : missedNow;
    missedBefore = missedNow;
    summaries.push({ ...summary, missedAll });
    if (summaries.length > 120) summaries.shift();
    for (const listener of listeners) listener(summary);
  };
  system.events.subscribe((event) => {
    if (event.type !== 'DeadLetter') return;
    deadLetters.push({ reason: event.reason, recipient: event.recipient, message: preview(event.message) });
    if (deadLetters.length > 50) deadLetters.shift();
  });

  // The topic's ref must be known to subscribers and publishers before it exists: they look
  // it up at each start, so after a restart they find the same ref (restarts are in place).
  const metrics = () => system.lookup(`${APP}/metrics`) as unknown as ActorRef<TopicMessage<MetricEvent>>;
  const print = options.print;
  const intensity = { maxRestarts: 20, withinMs: 10_000 };
  const app = () =>
    supervisor({
      strategy: 'restForOne',
      intensity,
      children: [
        { id: 'metrics', start: () => topic<MetricEvent>() },
        {
          id: 'subscribers',
          start: () =>
            supervisor({
              strategy: 'oneForOne',
              intensity,
              children: [
                {
                  id: 'dashboard',
                  start: () => timed(dashboard({ print, metrics: metrics(), onSummary }), observe),
                },
                {
                  id: 'logger',
                  start: () =>
                    timed(logger({ print, metrics: metrics(), metricLog: options.metricLog }), observe),
                },
                {
                  id: 'alerter',
                  start: () =>
                    timed(
                      alerter({
                        print,
                        metrics: metrics(),
                        threshold: options.alertThreshold ?? 10,
                        onAlert: (alert) => {
                          alerts.push(alert);
                          if (alerts.length > 20) alerts.shift();
                        },
                      }),
                      observe,
                    ),
                },
              ],
            }),
        },
        {
          id: 'publishers',
          start: () =>
            supervisor({
              strategy: 'oneForOne',
              intensity,
              children: [
                {
                  id: 'web-server',
                  start: () =>
                    timed(
                      webServer({
                        metrics: metrics(),
                        intervalMs: options.webIntervalMs ?? 100,
                        errorRate: options.errorRate ?? 0.03,
                        seed: options.seed ?? 1,
                      }),
                      observe,
                    ),
                },
                {
                  id: 'database',
                  start: () =>
                    timed(
                      database({
                        metrics: metrics(),
                        intervalMs: options.dbIntervalMs ?? 250,
                        seed: (options.seed ?? 1) + 1,
                      }),
                      observe,
                    ),
                },
              ],
            }),
        },
      ],
    });
  const kept = keeper(system, { name: 'metrics-app', behavior: app, print });

  const invalid = (error: string): CommandResult => ({ ok: false, reason: 'invalid', error });
  const unavailable = (): CommandResult | undefined => {
    const health = kept.health();
    if (health.state === 'restarting')
      return {
        ok: false,
        reason: 'unavailable',
        error: `the metrics app is restarting (its supervisor gave up: ${health.lastError}); try again shortly`,
      };
    return undefined;
  };
  const worker = (path: unknown): ActorRef<Control> | CommandResult => {
    if (typeof path !== 'string' || !WORKERS.includes(path))
      return invalid(`unknown actor path: ${String(path).slice(0, 80)}`);
    const down = unavailable();
    if (down !== undefined) return down;
    const ref = system.lookup(path);
    if (ref === undefined || system.inspect(ref)?.status === 'stopped')
      return { ok: false, reason: 'unavailable', error: `${path} is not running; try again shortly` };
    return ref as unknown as ActorRef<Control>;
  };
  const isResult = (value: ActorRef<Control> | CommandResult): value is CommandResult => 'ok' in value;
  let flooding = false;

  return {
    get root() {
      return system.lookup(APP) as ActorRef<SupervisorMessage> | undefined;
    },
    get metrics() {
      return metrics();
    },
    workers: WORKERS,
    subscribers: WORKERS.filter((path) => path.includes('/subscribers/')),
    summaries,
    alerts,
    deadLetters,
    onSummary(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onHandled(listener) {
      handledListeners.add(listener);
      return () => handledListeners.delete(listener);
    },
    health: () => kept.health(),
    crash(path) {
      const ref = worker(path);
      if (isResult(ref)) return ref;
      ref.tell({ type: 'Crash' });
      return { ok: true };
    },
    slow(path, ms) {
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 5000)
        return invalid('ms must be an integer from 0 to 5000');
      const ref = worker(path);
      if (isResult(ref)) return ref;
      ref.tell({ type: 'SetDelay', ms });
      return { ok: true };
    },
    flood(count) {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100_000)
        return invalid('count must be an integer from 1 to 100000');
      const down = unavailable();
      if (down !== undefined) return down;
      const topicRef = system.lookup(`${APP}/metrics`) as ActorRef<TopicMessage<MetricEvent>> | undefined;
      if (topicRef === undefined)
        return {
          ok: false,
          reason: 'unavailable',
          error: 'the metrics topic is not running; try again shortly',
        };
      if (flooding)
        return { ok: false, reason: 'unavailable', error: 'a flood is still running; try again shortly' };
      flooding = true;
      // Publish with backpressure (as a real producer would), so the burst reaches the
      // subscribers: fast ones keep up, a slow one lags and is told how much it missed. If the
      // topic stops meanwhile (its supervisor gave up), the flood ends: nothing to publish to.
      void (async () => {
        for (let i = 0; i < count; i++) {
          const event: MetricEvent = { type: 'Request', path: '/flood', latencyMs: 1 };
          const queued = topicRef.trySend(event);
          if (queued.ok) continue;
          if (queued.reason !== 'full') return;
          await topicRef.send(event);
        }
      })()
        .catch(() => {}) // ActorStoppedError: the topic stopped while we waited; the flood ends.
        .finally(() => {
          flooding = false;
        });
      return { ok: true };
    },
    topicStats: () => Topic.stats(metrics()),
  };
}

/** The sum of `missed` over the subscriptions of the topic at `path` (0 when it is not running). */
function missedOverSubscriptions(system: ActorSystem, path: string): number {
  const find = (node: ActorTreeNode): ActorTreeNode | undefined =>
    node.path === path ? node : node.children.map(find).find((n) => n !== undefined);
  const details = find(system.tree())?.details as TopicStats | undefined;
  return details?.subscriptions?.reduce((sum, s) => sum + s.missed, 0) ?? 0;
}

function preview(message: unknown): string {
  try {
    return JSON.stringify(message)?.slice(0, 120) ?? String(message);
  } catch {
    return String(message);
  }
}
