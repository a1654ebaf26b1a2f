import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Topic, topic } from '@troupe/actors';
import {
  type ActorRef,
  ActorSystem,
  type DeadLetter,
  type Message,
  receive,
  supervisor,
  withoutTracing,
  withTraceContext,
} from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
let system: ActorSystem;
let deadLetters: DeadLetter[];

function start(traced: boolean): ActorSystem {
  system = ActorSystem.start({
    name: 'traced',
    ...(traced ? { tracing: { tracer: provider.getTracer('test'), node: 'n1' } } : {}),
  });
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
  return system;
}

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = named(name);
  expect(found, name).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

type Hop = { type: 'hop'; n: number };

/** An actor that tells `next` (if any) a hop, synchronously, from its handler. */
function relay(next: ActorRef<Hop> | null) {
  return receive<null, Hop>(null, (state, m) => {
    next?.tell({ type: 'hop', n: m.n + 1 });
    return state;
  });
}

describe('tracing on', () => {
  beforeEach(() => {
    start(true);
  });

  it('A tells B tells C: three spans of one trace, a parent-child chain, with the attributes', async () => {
    const c = system.spawn(relay(null), { name: 'c' });
    const b = system.spawn(relay(c), { name: 'b' });
    const a = system.spawn(relay(b), { name: 'a' });
    a.tell({ type: 'hop', n: 0 });
    await waitFor(() => named('handle hop').length === 3, 'three hop spans');
    const [sa, sb, sc] = ['/user/a', '/user/b', '/user/c'].map(
      (path) => named('handle hop').find((s) => s.attributes['troupe.actor.path'] === path) as ReadableSpan,
    ) as [ReadableSpan, ReadableSpan, ReadableSpan];
    expect(new Set([sa, sb, sc].map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(parentOf(sa)).toBeUndefined(); // told from outside any span: a new trace
    expect(parentOf(sb)).toBe(sa.spanContext().spanId);
    expect(parentOf(sc)).toBe(sb.spanContext().spanId);
    for (const s of [sa, sb, sc]) {
      expect(s.kind).toBe(SpanKind.CONSUMER);
      expect(s.attributes['troupe.node']).toBe('n1');
      expect(s.attributes['troupe.message.type']).toBe('hop');
      expect(s.status.code).not.toBe(SpanStatusCode.ERROR);
    }
  });

  it('a message told inside an active span is its child; the node defaults to the system name', async () => {
    const other = ActorSystem.start({ name: 'plain-name', tracing: { tracer: provider.getTracer('t') } });
    try {
      const a = other.spawn(relay(null), { name: 'a' });
      const parent = provider.getTracer('test').startSpan('caller');
      withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () => a.tell({ type: 'hop', n: 0 }));
      parent.end();
      await waitFor(() => named('handle hop').length === 1, 'the hop span');
      const s = one('handle hop');
      expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(parentOf(s)).toBe(parent.spanContext().spanId);
      expect(s.attributes['troupe.node']).toBe('plain-name');
    } finally {
      await other.shutdown({ timeoutMs: 100 });
    }
  });

  it('ask: the request is a child of the asking handler, and the reply continues the trace', async () => {
    type Q = { type: 'question'; replyTo: ActorRef<{ type: 'answer' }> };
    const answerer = system.spawn(
      receive<null, Q>(null, (s, m, ctx) => {
        ctx.reply(m.replyTo, { type: 'answer' });
        return s;
      }),
      { name: 'answerer' },
    );
    const sink = system.spawn(relay(null), { name: 'sink' });
    type Go = { type: 'go' } | { type: 'answer' };
    const asker = system.spawn(
      receive<null, Go>(null, (s, m, ctx) => {
        // The reply comes back to this actor's mailbox (a reply told to it): continues the trace.
        if (m.type === 'go')
          answerer.tell({ type: 'question', replyTo: ctx.self as ActorRef<{ type: 'answer' }> });
        else sink.tell({ type: 'hop', n: 1 });
        return s;
      }),
      { name: 'asker' },
    );
    asker.tell({ type: 'go' });
    await waitFor(() => named('handle hop').length === 1, 'the sink span');
    const go = one('handle go');
    const question = one('handle question');
    const answer = one('handle answer');
    const hop = one('handle hop');
    expect(parentOf(question)).toBe(go.spanContext().spanId);
    expect(parentOf(answer)).toBe(question.spanContext().spanId);
    expect(parentOf(hop)).toBe(answer.spanContext().spanId);
    expect(new Set(spans().map((s) => s.spanContext().traceId)).size).toBe(1);

    // ref.ask from inside a span: the request's handling is its child.
    const parent = provider.getTracer('test').startSpan('caller');
    const reply = await withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () =>
      answerer.ask<{ type: 'answer' }>((replyTo) => ({ type: 'question', replyTo })),
    );
    parent.end();
    expect(reply.type).toBe('answer');
    const asked = named('handle question').find((s) => parentOf(s) === parent.spanContext().spanId);
    expect(asked?.spanContext().traceId).toBe(parent.spanContext().traceId);
  });

  it('a topic fans out: each subscriber handles the event as a child of the publish', async () => {
    type Ev = { type: 'tick'; n: number };
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    const got: string[] = [];
    const sub = (name: string) =>
      system.spawn(
        receive<null, Ev>(null, (s) => {
          got.push(name);
          return s;
        }),
        { name },
      );
    await Topic.subscribe(bus, sub('s1'));
    await Topic.subscribe(bus, sub('s2'));
    exporter.reset();
    const parent = provider.getTracer('test').startSpan('publisher');
    withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () => Topic.publish(bus, { type: 'tick', n: 1 }));
    parent.end();
    await waitFor(() => named('handle tick').length === 3, 'the topic span and two subscriber spans');
    const ticks = named('handle tick');
    const onTopic = ticks.find((s) => s.attributes['troupe.actor.path'] === '/user/bus') as ReadableSpan;
    expect(parentOf(onTopic)).toBe(parent.spanContext().spanId);
    const subs = ticks.filter((s) => s !== onTopic);
    expect(subs.map((s) => s.attributes['troupe.actor.path']).sort()).toEqual(['/user/s1', '/user/s2']);
    for (const s of subs) {
      expect(parentOf(s)).toBe(onTopic.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
    }
  });

  it('a failing handler: ERROR status and the exception on its span; the restart is recorded', async () => {
    type Crash = { type: 'crash' } | { type: 'ok' };
    const worker = () =>
      receive<null, Crash>(null, (s, m) => {
        if (m.type === 'crash') throw new Error('boom');
        return s;
      });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'w', behavior: worker() }],
      }),
      { name: 'sup' },
    );
    const w = system.lookup('/user/sup/w') as ActorRef<Crash>;
    w.tell({ type: 'crash' });
    await waitFor(() => named('restart /user/sup/w').length === 1, 'the restart span');
    const failed = one('handle crash');
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.status.message).toBe('boom');
    const exception = failed.events.find((e) => e.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toBe('boom');
    const restart = one('restart /user/sup/w');
    expect(parentOf(restart)).toBe(failed.spanContext().spanId);
    expect(restart.spanContext().traceId).toBe(failed.spanContext().traceId);
    expect(restart.events.map((e) => e.name)).toContain('troupe.restart');
    expect(restart.attributes['troupe.restart.reason']).toBe('error: boom');
    // After the restart, the actor handles messages again, each in a span of its own.
    w.tell({ type: 'ok' });
    await waitFor(() => named('handle ok').length === 1, 'the span after the restart');
  });

  it('an async rejection is recorded on its span; an unhandled message is marked', async () => {
    type M = { type: 'reject' } | { type: 'other' };
    const a = system.spawn(
      receive<null, M>(null, async (s, m, ctx) => {
        await Promise.resolve();
        if (m.type === 'reject') throw new Error('async boom');
        ctx.unhandled();
        return s;
      }),
      { name: 'a' },
    );
    a.tell({ type: 'other' });
    await waitFor(() => named('handle other').length === 1, 'the unhandled span');
    expect(one('handle other').attributes['troupe.unhandled']).toBe(true);
    a.tell({ type: 'reject' });
    await waitFor(() => named('handle reject').length === 1, 'the rejected span');
    const s = one('handle reject');
    expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(s.status.message).toBe('async boom');
  });

  it('a span is ended when the actor is stopped mid-handler', async () => {
    const started: string[] = [];
    const a = system.spawn(
      receive<null, Message>(null, () => {
        started.push('hang');
        return new Promise<null>(() => {}); // never settles
      }),
      { name: 'hang' },
    );
    a.tell({ type: 'hang' });
    await waitFor(() => started.length === 1, 'the handler started');
    expect(named('handle hang')).toHaveLength(0);
    const queued = { type: 'queued' };
    const parent = provider.getTracer('test').startSpan('sender');
    withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () => a.tell(queued));
    parent.end();
    await system.stop(a, { timeoutMs: 0 });
    const s = one('handle hang');
    expect(s.events.map((e) => e.name)).toContain('troupe.abandoned');
    // The message still queued when it stopped: a dead letter as it was sent.
    expect(deadLetters.map((d) => d.reason)).toEqual(['stopped', 'stopped']);
    expect(deadLetters[1]?.message).toBe(queued);
  });

  it('timer messages continue the trace of the handler that started them', async () => {
    type M = { type: 'arm' } | { type: 'fire' };
    const a = system.spawn(
      receive<null, M>(null, (s, m, ctx) => {
        if (m.type === 'arm') ctx.timers.startSingle('t', { type: 'fire' }, 0);
        return s;
      }),
      { name: 'timer' },
    );
    a.tell({ type: 'arm' });
    await waitFor(() => named('handle fire').length === 1, 'the timer span');
    expect(parentOf(one('handle fire'))).toBe(one('handle arm').spanContext().spanId);
  });

  it('hostile: a full mailbox (dropNewest, dropOldest) dead-letters the original message objects', async () => {
    for (const overflow of ['dropNewest', 'dropOldest'] as const) {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = 0;
      const a = system.spawn(
        receive<null, Message>(null, async (s) => {
          started++;
          await gate;
          return s;
        }),
        { name: `full-${overflow}`, mailbox: { capacity: 1, overflow } },
      );
      const first = { type: 'first' };
      const second = { type: 'second' };
      const third = { type: 'third' };
      const parent = provider.getTracer('test').startSpan('sender');
      const ctx = trace.setSpan(ROOT_CONTEXT, parent);
      withTraceContext(ctx, () => a.tell(first));
      await waitFor(() => started === 1, 'the first message in flight');
      withTraceContext(ctx, () => {
        a.tell(second); // queued
        a.tell(third); // full: third (dropNewest) or second (dropOldest) is dropped
      });
      parent.end();
      await waitFor(() => deadLetters.length > 0, 'the dropped message');
      const dropped = overflow === 'dropNewest' ? third : second;
      expect(deadLetters.map((d) => d.message)).toEqual([dropped]);
      expect(deadLetters[0]?.message).toBe(dropped);
      const r = a.trySend({ type: 'fourth' });
      if (!r.ok) expect(r.value).toEqual({ type: 'fourth' });
      release();
      await system.stop(a);
      deadLetters = [];
    }
  });

  it('hostile: messages refused by a stopped actor are dead letters as they were sent', async () => {
    const a = system.spawn(
      receive<null, Message>(null, (s) => s),
      { name: 'gone' },
    );
    await system.stop(a);
    const message = { type: 'late' };
    const parent = provider.getTracer('test').startSpan('sender');
    const r = withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () => {
      a.tell(message);
      return a.trySend({ type: 'late2' });
    });
    parent.end();
    expect(deadLetters[0]?.message).toBe(message);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.value).toEqual({ type: 'late2' });
  });
});

describe('a hostile tracer', () => {
  it('a tracer or span that throws never fails an actor: every message is handled and accounted', async () => {
    const throwing = {
      startSpan: () => {
        throw new Error('tracer down');
      },
    } as unknown as Tracer;
    const brokenSpans = provider.getTracer('test');
    const spanThatThrows = {
      startSpan: (...args: Parameters<Tracer['startSpan']>) => {
        const span = brokenSpans.startSpan(...args);
        span.end = () => {
          throw new Error('end failed');
        };
        span.recordException = () => {
          throw new Error('record failed');
        };
        return span;
      },
    } as unknown as Tracer;
    for (const tracer of [throwing, spanThatThrows]) {
      const other = ActorSystem.start({ name: 'hostile', tracing: { tracer } });
      try {
        type M = { type: 'ok' } | { type: 'crash' };
        let handled = 0;
        const a = other.spawn(
          receive<null, M>(null, (s, m) => {
            handled++;
            if (m.type === 'crash') throw new Error('boom');
            return s;
          }),
          { name: 'a' },
        );
        for (let i = 0; i < 3; i++) a.tell({ type: 'ok' });
        a.tell({ type: 'crash' });
        await waitFor(() => handled === 4, 'every message handled');
        await settle(other);
        expect(other.inspect(a)).toMatchObject({ processed: 3, failed: 1 });
      } finally {
        await other.shutdown({ timeoutMs: 100 });
      }
    }
  });
});

describe('with a context manager', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    manager.disable();
    context.disable();
  });
  beforeEach(() => {
    start(true);
  });

  it('an async handler keeps its span across await: what it tells after it is a child', async () => {
    const c = system.spawn(relay(null), { name: 'c' });
    const a = system.spawn(
      receive<null, Hop>(null, async (s) => {
        await new Promise((resolve) => setImmediate(resolve));
        c.tell({ type: 'hop', n: 1 });
        return s;
      }),
      { name: 'a' },
    );
    a.tell({ type: 'hop', n: 0 });
    await waitFor(() => named('handle hop').length === 2, 'two spans');
    const sa = named('handle hop').find((s) => s.attributes['troupe.actor.path'] === '/user/a');
    const sc = named('handle hop').find((s) => s.attributes['troupe.actor.path'] === '/user/c');
    expect(parentOf(sc as ReadableSpan)).toBe(sa?.spanContext().spanId);
  });
});

describe('tracing off', () => {
  beforeEach(() => {
    start(false);
  });

  it('records no spans, even inside an active span', async () => {
    const c = system.spawn(relay(null), { name: 'c' });
    const a = system.spawn(relay(c), { name: 'a' });
    const parent = provider.getTracer('test').startSpan('caller');
    withTraceContext(trace.setSpan(ROOT_CONTEXT, parent), () => a.tell({ type: 'hop', n: 0 }));
    parent.end();
    await settle(system);
    expect(spans().map((s) => s.name)).toEqual(['caller']);
    expect(system.tracing).toBe(false);
  });

  it('dead letters and drops see the original message objects', async () => {
    let started = 0;
    const a = system.spawn(
      receive<null, Message>(null, () => {
        started++;
        return new Promise<null>(() => {});
      }),
      { name: 'full', mailbox: { capacity: 1, overflow: 'dropNewest' } },
    );
    const [first, second, third] = [{ type: 'a' }, { type: 'b' }, { type: 'c' }];
    a.tell(first);
    await waitFor(() => started === 1, 'the first message in flight');
    a.tell(second);
    a.tell(third);
    expect(deadLetters[0]?.message).toBe(third);
    await system.stop(a, { timeoutMs: 0 });
    expect(deadLetters.map((d) => d.message)).toEqual([third, first, second]);
    expect(deadLetters[1]?.message).toBe(first);
    expect(deadLetters[2]?.message).toBe(second);
  });
});

describe('ask replies and control traffic', () => {
  it('a reply that settles an ask is a reply span on the asking side, child of the replier’s handling', async () => {
    const sys = start(true);
    const echo = sys.spawn(
      receive<null, { type: 'ping'; replyTo: ActorRef<{ type: 'pong' }> }>(null, (s, m) => {
        m.replyTo.tell({ type: 'pong' });
        return s;
      }),
      { name: 'echo' },
    );
    const root = provider.getTracer('test').startSpan('caller');
    let asked: Promise<unknown> = Promise.resolve();
    withTraceContext(trace.setSpan(ROOT_CONTEXT, root), () => {
      asked = echo.ask((replyTo) => ({ type: 'ping', replyTo }));
    });
    root.end();
    await expect(asked).resolves.toEqual({ type: 'pong' });
    const reply = one('reply pong');
    expect(parentOf(reply)).toBe(one('handle ping').spanContext().spanId);
    expect(reply.kind).toBe(SpanKind.CONSUMER);
    expect(reply.attributes).toMatchObject({ 'troupe.ask.target': '/user/echo', 'troupe.node': 'n1' });
  });

  it('withoutTracing: what is sent in it, and what its handlers send, is handled without spans', async () => {
    const sys = start(true);
    const last = sys.spawn(relay(null), { name: 'last' });
    const first = sys.spawn(relay(last), { name: 'first' });
    withoutTracing(() => first.tell({ type: 'hop', n: 1 }));
    await settle(sys);
    expect(spans()).toEqual([]);
    expect(sys.inspect(last)?.processed).toBe(1);
    first.tell({ type: 'hop', n: 2 }); // outside it: traced as usual
    await settle(sys);
    expect(named('handle hop')).toHaveLength(2);
  });
});
