import { type Context, ROOT_CONTEXT, type SpanContext, trace } from '@opentelemetry/api';
import type { ActorSystem } from '@troupe/runtime';
import { currentTraceContext } from '@troupe/runtime';

/**
 * W3C Trace Context `traceparent` (version 00) for what crosses the wire:
 * `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lowercase, ids not all zero.
 *
 * @internal
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/** The `traceparent` of `ctx`'s span, or undefined when it has no valid span context. */
export function formatTraceparent(ctx: Context): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (sc === undefined || !validIds(sc.traceId, sc.spanId)) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/**
 * A remote parent from a `traceparent`, or undefined for anything that is not a valid one
 * (wrong length, version or case, non-hex, all-zero ids, not a string): ignored, never thrown.
 */
export function parseTraceparent(value: unknown): Context | undefined {
  if (typeof value !== 'string' || value.length !== 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (!validIds(traceId, spanId)) return undefined;
  const sc: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

/**
 * The `traceparent` a message sent now from `system` carries: only when the system traces and
 * a span is current (an active span, or the handler running now); else undefined, and nothing
 * is added to the wire.
 */
export function outgoingTraceparent(system: ActorSystem): string | undefined {
  if (!system.tracing) return undefined;
  const ctx = currentTraceContext();
  return ctx === undefined ? undefined : formatTraceparent(ctx);
}

function validIds(traceId: string, spanId: string): boolean {
  return (
    traceId.length === 32 &&
    spanId.length === 16 &&
    traceId !== ZERO_TRACE &&
    spanId !== ZERO_SPAN &&
    /^[0-9a-f]+$/.test(traceId) &&
    /^[0-9a-f]+$/.test(spanId)
  );
}
