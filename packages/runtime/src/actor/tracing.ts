import {
  type Context,
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry tracing of message handling (`ActorSystemOptions.tracing`). Off unless given.
 *
 * **What is traced.** Every user message an actor handles: `tell`, `trySend`, `send`, an ask's
 * request, `ctx.send`, `ctx.reply`, timer messages, and (with `@troupe/cluster`) messages from
 * other nodes, cluster topics and durable topics. When a message enters a mailbox, the trace
 * context active at that moment is kept with it — if it carries a span; otherwise the message
 * starts a new trace when it is handled. Timer messages keep the context of the handler that
 * started the timer.
 *
 * **The span.** Handling a message is a span named `handle <type>` (kind `CONSUMER`), child of
 * the span that sent it, with the attributes `troupe.actor.path`, `troupe.node` and
 * `troupe.message.type`. The behaviour's handler runs with that span active, so what it sends
 * (synchronously) becomes its children. The span ends when the handler returns, or when the
 * promise of an async handler settles. A throw, a rejection or a machine error records the
 * exception and sets status `ERROR`; an unhandled message sets `troupe.unhandled: true`; a
 * message abandoned because the actor stopped (or restarted) mid-handler ends its span with the
 * event `troupe.abandoned`. When a supervisor restarts the failed actor, a short span
 * `restart <path>` (attribute `troupe.restart.reason`) is recorded as a child of the failed
 * message's span.
 *
 * **Cost when off.** Nothing on the `tell` path: no allocation and no check per message (a
 * traced system's actors are made with a traced ref and cell; an untraced system's are not).
 *
 * **Async handlers.** Without a registered context manager the OpenTelemetry API propagates
 * nothing across `await`: the runtime makes the handler's span current for the synchronous part
 * of the handler (up to its first `await`), and messages sent after that start new traces.
 * Register the SDK's `AsyncLocalStorageContextManager` (`@opentelemetry/context-async-hooks`)
 * to keep the span across `await` as well.
 */
export interface TracingOptions {
  /** Where spans go. Default: `trace.getTracer('@troupe/runtime')` (the global provider). */
  readonly tracer?: Tracer;
  /** The `troupe.node` attribute of every span. Default: the system's name. */
  readonly node?: string;
}

/** The context of the handler running synchronously now (kept without a context manager). */
let ambient: Context | undefined;

/** Marks a context whose messages are handled without a span (see {@link withoutTracing}). */
const UNTRACED_KEY = createContextKey('troupe.untraced');
const UNTRACED: Context = ROOT_CONTEXT.setValue(UNTRACED_KEY, true);
const NON_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * The trace context a message sent now carries: the active OpenTelemetry context if it holds a
 * span (with a context manager, or inside `context.with`), else the span of the handler that
 * runs now (or of {@link withTraceContext}); `undefined` when there is no span at all. For
 * transports: what to put on the wire.
 */
export function currentTraceContext(): Context | undefined {
  const active = context.active();
  if (trace.getSpan(active) !== undefined) return active;
  return ambient;
}

/**
 * Runs `fn` with `ctx` as the trace context that messages sent in it carry (and as the active
 * OpenTelemetry context, if a context manager is registered). For transports: a message that
 * arrived with a remote parent is delivered inside this, so its handling continues that trace.
 */
export function withTraceContext<T>(ctx: Context, fn: () => T): T {
  const previous = ambient;
  ambient = ctx;
  try {
    return context.with(ctx, fn);
  } finally {
    ambient = previous;
  }
}

/**
 * Runs `fn` so that the messages sent in it — and whatever their handlers send in turn — are
 * handled without a span and carry no trace context across the wire. For libraries' own
 * protocol traffic (polls, subscriptions, periodic checks), so traces show only what users
 * sent. Costs nothing when the system does not trace.
 */
export function withoutTracing<T>(fn: () => T): T {
  return withTraceContext(UNTRACED, fn);
}

/**
 * @internal A user message in a mailbox with the trace context it was sent in; unwrapped
 * before anything shows the message to users (dead letters, drops, results).
 */
export class TracedMessage<M> {
  constructor(
    readonly message: M,
    readonly context: Context,
  ) {}
}

/** @internal Unwraps a mailbox entry that may be a {@link TracedMessage}. */
export function untraced<T>(entry: T | TracedMessage<T>): T {
  return entry instanceof TracedMessage ? entry.message : entry;
}

/** What a throwing tracer or span is reported to (the system's logger): it never fails an actor. */
type OnError = (error: unknown) => void;

/**
 * @internal The span of one message being handled; ends once, however the handling ends. The
 * tracer is user-supplied: whatever its spans throw is reported, never thrown through the cell.
 */
export class Handling {
  private ended = false;

  constructor(
    private readonly span: Span,
    /** The context the handler runs in: the parent's, with this span set. */
    readonly context: Context,
    private readonly onError: OnError,
  ) {}

  /** Processed, or unhandled. */
  end(unhandled: boolean): void {
    if (this.ended) return;
    this.ended = true;
    try {
      if (unhandled) this.span.setAttribute('troupe.unhandled', true);
      this.span.end();
    } catch (error) {
      this.onError(error);
    }
  }

  /** The handler threw or rejected, or the machine errored; returns the span's context (for the restart). */
  fail(error: unknown): SpanContext | null {
    if (this.ended) return null;
    this.ended = true;
    try {
      this.span.recordException(error instanceof Error ? error : String(error));
      this.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      this.span.end();
      return this.span.spanContext();
    } catch (thrown) {
      this.onError(thrown);
      return null;
    }
  }

  /** The actor stopped or restarted before the handler settled. */
  abandon(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.span.addEvent('troupe.abandoned', { 'troupe.reason': reason });
      this.span.end();
    } catch (error) {
      this.onError(error);
    }
  }
}

/** @internal The tracing of one actor system. */
export class Tracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly node: string,
    private readonly onError: OnError,
  ) {}

  /** What to keep with a message entering a mailbox now: itself, or itself with its context. */
  wrap<M>(message: M): M | TracedMessage<M> {
    const ctx = currentTraceContext();
    return ctx === undefined ? message : new TracedMessage(message, ctx);
  }

  /** The context to keep for a timer started now (`undefined`: none with a span). */
  capture(): Context | undefined {
    return currentTraceContext();
  }

  /**
   * Starts the span of handling `message` at `path`, child of `parent` (a new trace if none);
   * a message sent under {@link withoutTracing} gets a span that records nothing.
   */
  start(path: string, message: unknown, parent: Context | undefined): Handling {
    if (parent?.getValue(UNTRACED_KEY) === true) return new Handling(NON_RECORDING, UNTRACED, this.onError);
    const type = typeOf(message);
    const base = parent ?? ROOT_CONTEXT;
    let span: Span;
    try {
      span = this.tracer.startSpan(
        type === undefined ? 'handle' : `handle ${type}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'troupe.actor.path': path,
            'troupe.node': this.node,
            ...(type === undefined ? {} : { 'troupe.message.type': type }),
          },
        },
        base,
      );
    } catch (error) {
      this.onError(error); // handled all the same, under a span that records nothing
      span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    }
    return new Handling(span, trace.setSpan(base, span), this.onError);
  }

  /** Runs a handler with its span current (also without a context manager). */
  run<T>(handling: Handling, fn: () => T): T {
    return withTraceContext(handling.context, fn);
  }

  /**
   * A reply settled an ask to `target`: a short span `reply <type>` on the asking side, child of
   * the replier's span (current now: the replying handler's, or the remote one a transport
   * delivers it under). Nothing when the reply was sent without a span or as control traffic.
   */
  replied(target: string, message: unknown): void {
    const parent = currentTraceContext();
    if (parent === undefined || parent.getValue(UNTRACED_KEY) === true) return;
    const type = typeOf(message);
    try {
      this.tracer
        .startSpan(
          type === undefined ? 'reply' : `reply ${type}`,
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'troupe.ask.target': target,
              'troupe.node': this.node,
              ...(type === undefined ? {} : { 'troupe.message.type': type }),
            },
          },
          parent,
        )
        .end();
    } catch (error) {
      this.onError(error);
    }
  }

  /** A supervisor restarted `path` after the message of span `failed` failed. */
  restarted(path: string, reason: string, failed: SpanContext): void {
    const parent = trace.setSpanContext(ROOT_CONTEXT, failed);
    try {
      const span = this.tracer.startSpan(
        `restart ${path}`,
        {
          attributes: {
            'troupe.actor.path': path,
            'troupe.node': this.node,
            'troupe.restart.reason': reason,
          },
        },
        parent,
      );
      span.addEvent('troupe.restart', { 'troupe.restart.reason': reason });
      span.end();
    } catch (error) {
      this.onError(error);
    }
  }
}

/** @internal Validates `ActorSystemOptions.tracing`; `null` when off. */
export function resolveTracing(
  options: TracingOptions | undefined,
  systemName: string,
  onError: OnError,
): Tracing | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== 'object') {
    throw new TypeError('tracing must be an object ({ tracer?, node? })');
  }
  const tracer = options.tracer ?? trace.getTracer('@troupe/runtime');
  if (typeof tracer !== 'object' || tracer === null || typeof tracer.startSpan !== 'function') {
    throw new TypeError('tracing.tracer must be an OpenTelemetry Tracer');
  }
  const node = options.node ?? systemName;
  if (typeof node !== 'string' || node === '') throw new TypeError('tracing.node must be a non-empty string');
  return new Tracing(tracer, node, onError);
}

function typeOf(message: unknown): string | undefined {
  try {
    const type = (message as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
