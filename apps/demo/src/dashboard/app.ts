/**
 * The live metrics dashboard (seed 003), supervised:
 *
 *   /user/metrics-app      supervisor, restForOne: if the topic restarts, everything after it
 *     metrics              Topic<MetricEvent>        restarts too and subscribes again
 *     subscribers          supervisor, oneForOne: dashboard, logger, alerter (XState machines)
 *     publishers           supervisor, oneForOne: web-server, database (timers)
 */
import { Topic, type TopicMessage, type TopicStats, topic } from '@troupe/actors';
import {
  type ActorRef,
  type ActorSystem,
  type DeadLetter,
  type Logger,
  type SupervisorMessage,
  supervisor,
} from '@troupe/runtime';
import type { Control, MetricEvent } from './events.js';
import { database, webServer } from './publishers.js';
import { alerter, dashboard, logger, type Summary } from './subscribers.js';

export interface DashboardOptions {
  /** Terminal lines (the seed's output). */
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

/** Outcome of a control request from the web page: applied, or why not (validated input). */
export type CommandResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

export interface DashboardApp {
  readonly root: ActorRef<SupervisorMessage>;
  readonly metrics: ActorRef<TopicMessage<MetricEvent>>;
  /** Paths of the actors a user may crash or slow down. */
  readonly workers: readonly string[];
  /** The subset of `workers` that subscribe to the topic (the ones worth slowing down). */
  readonly subscribers: readonly string[];
  /** The last summaries (newest last), at most 120. */
  readonly summaries: readonly Summary[];
  /** The last dead letters (newest last), at most 50. */
  readonly deadLetters: readonly DeadLetterView[];
  onSummary(listener: (summary: Summary) => void): () => void;
  crash(path: unknown): CommandResult;
  slow(path: unknown, ms: unknown): CommandResult;
  flood(count: unknown): CommandResult;
  topicStats(): Promise<TopicStats>;
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
  const summaries: Summary[] = [];
  const deadLetters: DeadLetterView[] = [];
  const listeners = new Set<(s: Summary) => void>();
  const onSummary = (summary: Summary) => {
    summaries.push(summary);
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
  const root = system.spawn(
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
                { id: 'dashboard', start: () => dashboard({ print, metrics: metrics(), onSummary }) },
                {
                  id: 'logger',
                  start: () => logger({ print, metrics: metrics(), metricLog: options.metricLog }),
                },
                {
                  id: 'alerter',
                  start: () =>
                    alerter({ print, metrics: metrics(), threshold: options.alertThreshold ?? 10 }),
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
                    webServer({
                      metrics: metrics(),
                      intervalMs: options.webIntervalMs ?? 100,
                      errorRate: options.errorRate ?? 0.03,
                      seed: options.seed ?? 1,
                    }),
                },
                {
                  id: 'database',
                  start: () =>
                    database({
                      metrics: metrics(),
                      intervalMs: options.dbIntervalMs ?? 250,
                      seed: (options.seed ?? 1) + 1,
                    }),
                },
              ],
            }),
        },
      ],
    }),
    { name: 'metrics-app' },
  );

  const worker = (path: unknown): ActorRef<Control> | string => {
    if (typeof path !== 'string' || !WORKERS.includes(path))
      return `unknown actor path: ${String(path).slice(0, 80)}`;
    const ref = system.lookup(path);
    return ref === undefined ? `${path} is not running` : (ref as unknown as ActorRef<Control>);
  };

  return {
    root,
    get metrics() {
      return metrics();
    },
    workers: WORKERS,
    subscribers: WORKERS.filter((path) => path.includes('/subscribers/')),
    summaries,
    deadLetters,
    onSummary(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    crash(path) {
      const ref = worker(path);
      if (typeof ref === 'string') return { ok: false, error: ref };
      ref.tell({ type: 'Crash' });
      return { ok: true };
    },
    slow(path, ms) {
      const ref = worker(path);
      if (typeof ref === 'string') return { ok: false, error: ref };
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 5000) {
        return { ok: false, error: 'ms must be an integer from 0 to 5000' };
      }
      ref.tell({ type: 'SetDelay', ms });
      return { ok: true };
    },
    flood(count) {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100_000) {
        return { ok: false, error: 'count must be an integer from 1 to 100000' };
      }
      // Publish with backpressure (as a real producer would), so the burst reaches the
      // subscribers: fast ones keep up, a slow one lags and is told how much it missed.
      const topicRef = metrics();
      void (async () => {
        for (let i = 0; i < count; i++) {
          const event: MetricEvent = { type: 'Request', path: '/flood', latencyMs: 1 };
          if (!topicRef.trySend(event).ok) await topicRef.send(event).catch(() => {});
        }
      })();
      return { ok: true };
    },
    topicStats: () => Topic.stats(metrics()),
  };
}

function preview(message: unknown): string {
  try {
    return JSON.stringify(message)?.slice(0, 120) ?? String(message);
  } catch {
    return String(message);
  }
}
