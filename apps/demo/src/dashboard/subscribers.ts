/**
 * The metrics topic's three subscribers, each an XState machine actor: Dashboard
 * (1 s summaries), Logger (every metric, through pino) and Alerter (error rate per minute).
 * Each subscribes itself at start, so after a restart of the topic (restForOne) it is back.
 */
import { Topic, type TopicMessage } from '@troupe/actors';
import { type ActorContext, type ActorRef, type Behavior, fromMachine, type Logger } from '@troupe/runtime';
import { assign, setup } from 'xstate';
import { formatMetric, type MetricEvent, type SubscriberMessage } from './events.js';

/** One dashboard summary (also what the web page charts). */
export interface Summary {
  readonly at: number;
  readonly requests: number;
  readonly avgLatencyMs: number;
  readonly dbQueries: number;
  readonly avgDbMs: number;
  readonly errors: number;
  /** Events this dashboard missed because its mailbox was full (reported by the topic). */
  readonly missed: number;
}

interface Totals {
  requests: number;
  latencyMs: number;
  queries: number;
  dbMs: number;
  errors: number;
  missed: number;
}

const ZERO: Totals = { requests: 0, latencyMs: 0, queries: 0, dbMs: 0, errors: 0, missed: 0 };
const METRICS = ['Request', 'DbQuery', 'Error'] as const;

/** Every subscriber machine crashes on demand (`Crash`): the supervisor restarts it in place. */
function crash(): never {
  throw new Error('crash requested');
}

const dashboardMachine = setup({
  types: { context: {} as Totals & { delayMs: number }, events: {} as SubscriberMessage },
  actions: {
    crash,
    setDelay: assign({ delayMs: ({ event }) => (event.type === 'SetDelay' ? event.ms : 0) }),
    slowDown: () => {},
    record: assign(({ context, event }) => {
      if (event.type === 'Request')
        return { requests: context.requests + 1, latencyMs: context.latencyMs + event.latencyMs };
      if (event.type === 'DbQuery')
        return { queries: context.queries + 1, dbMs: context.dbMs + event.durationMs };
      if (event.type === 'Error') return { errors: context.errors + 1 };
      if (event.type === 'Lagged') return { missed: context.missed + event.missed };
      return {};
    }),
    summarize: () => {},
    reset: assign(() => ({ ...ZERO })),
  },
}).createMachine({
  id: 'dashboard',
  context: { ...ZERO, delayMs: 0 },
  initial: 'idle',
  on: { Crash: { actions: 'crash' }, SetDelay: { actions: 'setDelay' }, Lagged: { actions: 'record' } },
  states: {
    idle: {
      on: {
        Request: { target: 'collecting', actions: ['record', 'slowDown'] },
        DbQuery: { target: 'collecting', actions: ['record', 'slowDown'] },
        Error: { target: 'collecting', actions: ['record', 'slowDown'] },
        Tick: { actions: ['summarize', 'reset'] },
      },
    },
    collecting: {
      on: {
        Request: { actions: ['record', 'slowDown'] },
        DbQuery: { actions: ['record', 'slowDown'] },
        Error: { actions: ['record', 'slowDown'] },
        Tick: { target: 'idle', actions: ['summarize', 'reset'] },
      },
    },
  },
});

const loggerMachine = setup({
  types: { context: {} as { delayMs: number }, events: {} as SubscriberMessage },
  actions: {
    crash,
    setDelay: assign({ delayMs: ({ event }) => (event.type === 'SetDelay' ? event.ms : 0) }),
    slowDown: () => {},
    log: () => {},
    lagged: () => {},
  },
}).createMachine({
  id: 'logger',
  context: { delayMs: 0 },
  on: {
    Request: { actions: ['log', 'slowDown'] },
    DbQuery: { actions: ['log', 'slowDown'] },
    Error: { actions: ['log', 'slowDown'] },
    Lagged: { actions: 'lagged' },
    Crash: { actions: 'crash' },
    SetDelay: { actions: 'setDelay' },
  },
});

const alerterMachine = setup({
  types: {
    context: {} as { delayMs: number; perSecond: number[]; threshold: number },
    events: {} as SubscriberMessage,
    input: {} as { threshold: number },
  },
  actions: {
    crash,
    setDelay: assign({ delayMs: ({ event }) => (event.type === 'SetDelay' ? event.ms : 0) }),
    slowDown: () => {},
    countError: assign({
      perSecond: ({ context }) => [...context.perSecond.slice(0, -1), (context.perSecond.at(-1) ?? 0) + 1],
    }),
    nextSecond: assign({ perSecond: ({ context }) => [...context.perSecond.slice(1), 0] }),
    lagged: () => {},
    alert: () => {},
    clear: () => {},
  },
  guards: {
    overThreshold: ({ context }) => sum(context.perSecond) > context.threshold,
    backToNormal: ({ context }) => sum(context.perSecond) <= context.threshold,
  },
}).createMachine({
  id: 'alerter',
  context: ({ input }) => ({
    delayMs: 0,
    perSecond: new Array<number>(60).fill(0),
    threshold: input.threshold,
  }),
  initial: 'normal',
  on: {
    Crash: { actions: 'crash' },
    SetDelay: { actions: 'setDelay' },
    Tick: { actions: 'nextSecond' },
    Lagged: { actions: 'lagged' },
  },
  states: {
    normal: {
      on: { Error: { actions: ['countError', 'slowDown'] } },
      always: { guard: 'overThreshold', target: 'alerting', actions: 'alert' },
    },
    alerting: {
      on: { Error: { actions: ['countError', 'slowDown'] } },
      always: { guard: 'backToNormal', target: 'normal', actions: 'clear' },
    },
  },
});

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export interface SubscriberOptions {
  readonly metrics: ActorRef<TopicMessage<MetricEvent>>;
  /** Where terminal lines go (`[dashboard]`, `[ALERT]` …). */
  readonly print: (line: string) => void;
}

/** Subscribes the actor (at each start) and, if it needs one, runs a 1 s tick. */
function start(
  ctx: ActorContext<SubscriberMessage>,
  options: SubscriberOptions,
  filter: readonly MetricEvent['type'][] | undefined,
  tick: boolean,
) {
  void Topic.subscribe(options.metrics, ctx.self, filter === undefined ? {} : { filter }).catch(
    (error: unknown) => ctx.log.warn({ err: error }, 'could not subscribe'),
  );
  if (tick) ctx.timers.startPeriodic('tick', { type: 'Tick' }, 1000);
}

function slowDown(ctx: ActorContext<SubscriberMessage>) {
  return ({ context }: { context: { delayMs: number } }) => {
    if (context.delayMs > 0) ctx.pause(context.delayMs);
  };
}

/** Dashboard: every second prints a summary and hands it to `onSummary`. */
export function dashboard(
  options: SubscriberOptions & { readonly onSummary: (s: Summary) => void },
): Behavior<SubscriberMessage> {
  return fromMachine((ctx) => {
    start(ctx, options, undefined, true);
    return dashboardMachine.provide({
      actions: {
        slowDown: slowDown(ctx),
        summarize: ({ context }) => {
          const summary: Summary = {
            at: ctx.clock.now(),
            requests: context.requests,
            avgLatencyMs: context.requests === 0 ? 0 : Math.round(context.latencyMs / context.requests),
            dbQueries: context.queries,
            avgDbMs: context.queries === 0 ? 0 : Math.round(context.dbMs / context.queries),
            errors: context.errors,
            missed: context.missed,
          };
          options.print('[dashboard] === 1s summary ===');
          options.print(`  Requests: ${summary.requests}, avg latency: ${summary.avgLatencyMs}ms`);
          options.print(`  DB queries: ${summary.dbQueries}, avg: ${summary.avgDbMs}ms`);
          options.print(
            `  Errors: ${summary.errors}${summary.missed > 0 ? ` (missed ${summary.missed} while slow)` : ''}`,
          );
          options.onSummary(summary);
        },
      },
    });
  });
}

/** Logger: every metric through pino (`metricLog`), which the demo renders as `[logger] …`. */
export function logger(
  options: SubscriberOptions & { readonly metricLog: Logger },
): Behavior<SubscriberMessage> {
  return fromMachine((ctx) => {
    start(ctx, options, METRICS, false);
    return loggerMachine.provide({
      actions: {
        slowDown: slowDown(ctx),
        log: ({ event }) => {
          if (event.type === 'Request' || event.type === 'DbQuery' || event.type === 'Error') {
            options.metricLog.info({ metric: event, line: formatMetric(event) }, 'metric');
          }
        },
        lagged: ({ event }) => {
          if (event.type === 'Lagged')
            options.metricLog.warn({ missed: event.missed }, 'logger lagged behind');
        },
      },
    });
  });
}

/** An alert the Alerter raised, or its all-clear. */
export interface Alert {
  readonly at: number;
  readonly kind: 'alert' | 'clear';
  /** Errors in the last minute when it changed. */
  readonly errorsPerMinute: number;
  readonly threshold: number;
}

/** Alerter: `[ALERT]` when errors in the last minute pass `threshold`; each change goes to `onAlert` too. */
export function alerter(
  options: SubscriberOptions & { readonly threshold: number; readonly onAlert?: (alert: Alert) => void },
): Behavior<SubscriberMessage> {
  return fromMachine(
    (ctx) => {
      start(ctx, options, ['Error'], true);
      return alerterMachine.provide({
        actions: {
          slowDown: slowDown(ctx),
          lagged: ({ event }) => {
            if (event.type === 'Lagged') ctx.log.warn({ missed: event.missed }, 'alerter lagged behind');
          },
          alert: ({ context }) => {
            const errorsPerMinute = sum(context.perSecond);
            options.print(`[ALERT] Error rate: ${errorsPerMinute}/min — threshold exceeded!`);
            options.onAlert?.({
              at: ctx.clock.now(),
              kind: 'alert',
              errorsPerMinute,
              threshold: context.threshold,
            });
          },
          clear: ({ context }) => {
            const errorsPerMinute = sum(context.perSecond);
            options.print(`[alerter] error rate back to ${errorsPerMinute}/min`);
            options.onAlert?.({
              at: ctx.clock.now(),
              kind: 'clear',
              errorsPerMinute,
              threshold: context.threshold,
            });
          },
        },
      });
    },
    { input: { threshold: options.threshold } },
  );
}
