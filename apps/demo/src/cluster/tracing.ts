/**
 * A node's tracing (OpenTelemetry SDK): every message handled is a span (the runtime's
 * `tracing` option), kept in a ring of the most recent spans that `/traces` serves (the page
 * shows the last traces, assembled across nodes by the launcher), and exported over OTLP/HTTP
 * when the demo runs with `--otlp <url>`.
 */
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A finished span as `/traces` serves it. */
export interface SpanView {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly node: string;
  readonly path: string | undefined;
  /** Start, wall-clock ms. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly error: boolean;
}

/** How many finished spans a node keeps for `/traces`. */
const RING = 2000;

export interface NodeTracing {
  readonly tracer: Tracer;
  /** The most recent finished spans, oldest first. */
  recent(): readonly SpanView[];
  shutdown(): Promise<void>;
}

export function nodeTracing(node: string, otlp: string | undefined): NodeTracing {
  const ring: SpanView[] = [];
  const keep: SpanExporter = {
    export(spans, done) {
      for (const span of spans) {
        ring.push(view(span, node));
        if (ring.length > RING) ring.shift();
      }
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const processors: SpanProcessor[] = [new SimpleSpanProcessor(keep)];
  if (otlp !== undefined) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: otlp }) as unknown as SpanExporter));
  }
  // Keeps a handler's span current across its awaits, so what it sends after one joins its trace.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({ spanProcessors: processors });
  return {
    tracer: provider.getTracer('@troupe/demo'),
    recent: () => ring,
    shutdown: () => provider.shutdown(),
  };
}

function view(span: ReadableSpan, node: string): SpanView {
  const [s, ns] = span.startTime;
  const [ds, dns] = span.duration;
  const path = span.attributes['troupe.actor.path'];
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    node: String(span.attributes['troupe.node'] ?? node),
    path: typeof path === 'string' ? path : undefined,
    startMs: s * 1000 + ns / 1e6,
    durationMs: ds * 1000 + dns / 1e6,
    error: span.status.code === 2,
  };
}

/** One trace, assembled from every node's spans: each span with its depth, in tree order. */
export interface TraceView {
  readonly traceId: string;
  readonly spans: readonly (SpanView & { readonly depth: number })[];
}

/**
 * Assembles traces from spans of many nodes and returns the last `limit` whose root is a
 * block span (`block N`) and that reached the ledger, newest first.
 */
export function assembleTraces(spans: readonly SpanView[], limit: number): TraceView[] {
  const byTrace = new Map<string, SpanView[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list === undefined) byTrace.set(span.traceId, [span]);
    else list.push(span);
  }
  const traces: { trace: TraceView; at: number }[] = [];
  for (const [traceId, list] of byTrace) {
    const root = list.find((s) => s.parentSpanId === undefined && s.name.startsWith('block '));
    if (root === undefined || !list.some((s) => s.path?.endsWith('/ledger'))) continue;
    const children = new Map<string, SpanView[]>();
    for (const s of list) {
      if (s.parentSpanId === undefined) continue;
      const siblings = children.get(s.parentSpanId);
      if (siblings === undefined) children.set(s.parentSpanId, [s]);
      else siblings.push(s);
    }
    const ordered: (SpanView & { depth: number })[] = [];
    const walk = (span: SpanView, depth: number) => {
      ordered.push({ ...span, depth });
      for (const child of (children.get(span.spanId) ?? []).sort((a, b) => a.startMs - b.startMs))
        walk(child, depth + 1);
    };
    walk(root, 0);
    traces.push({ trace: { traceId, spans: ordered }, at: root.startMs });
  }
  return traces
    .sort((a, b) => b.at - a.at)
    .slice(0, limit)
    .map((t) => t.trace);
}
