import type { Lagged } from '@troupe/actors';

/** What the publishers emit on the `metrics` topic. */
export type MetricEvent =
  | { readonly type: 'Request'; readonly path: string; readonly latencyMs: number }
  | { readonly type: 'DbQuery'; readonly query: string; readonly durationMs: number }
  | { readonly type: 'Error'; readonly message: string };

/** Controls every demo actor accepts, driven from the web page and `--chaos`. */
export type Control =
  /** Throw from the handler: the supervisor restarts the actor in place, mailbox kept. */
  | { readonly type: 'Crash' }
  /** Pause this long after each message (a slow subscriber: its mailbox fills, the topic lags it). */
  | { readonly type: 'SetDelay'; readonly ms: number };

/** A subscriber's messages: metrics, the topic's lag notices, a 1 s tick, and controls. */
export type SubscriberMessage = MetricEvent | Lagged | Control | { readonly type: 'Tick' };

/** The terminal rendering of a metric: `Request { path: "/api/data", latency_ms: 42 }`. */
export function formatMetric(event: MetricEvent): string {
  switch (event.type) {
    case 'Request':
      return `Request { path: ${JSON.stringify(event.path)}, latency_ms: ${event.latencyMs} }`;
    case 'DbQuery':
      return `DbQuery { query: ${JSON.stringify(event.query)}, duration_ms: ${event.durationMs} }`;
    case 'Error':
      return `Error { message: ${JSON.stringify(event.message)} }`;
    default:
      return event satisfies never;
  }
}

/** A small seeded PRNG (mulberry32), so demo runs and tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
