// Trace context across nodes: two traced actor systems in this process on a real nats-server.

import { connect } from '@nats-io/transport-node';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type ClusterNode, clusterTopic, durableTopic, joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem, type Message, receive, withTraceContext } from '@troupe/runtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { decodeFrame, encodeFrame, TELL } from '../src/frame.js';
import { formatTraceparent, parseTraceparent } from '../src/traceparent.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping cluster tracing tests: ${unavailable}`);

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
const systems: ActorSystem[] = [];
let clusterN = 0;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown();
});

const named = (name: string, path?: string): ReadableSpan[] =>
  exporter
    .getFinishedSpans()
    .filter((s) => s.name === name && (path === undefined || s.attributes['troupe.actor.path'] === path));
const only = (name: string, path?: string): ReadableSpan => {
  const found = named(name, path);
  expect(found, `${name} ${path ?? ''}`).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

/** Runs `fn` inside a fresh span `caller`, ended after; returns the span. */
function inSpan(fn: () => unknown) {
  const span = provider.getTracer('test').startSpan('caller');
  withTraceContext(trace.setSpan(ROOT_CONTEXT, span), fn);
  span.end();
  return span.spanContext();
}

const record = (got: Message[]) =>
  receive<null, Message>(null, (s, m) => {
    got.push(m);
    return s;
  });

async function nodes(
  server: NatsServer,
  names: readonly string[],
  traced: (name: string) => boolean = () => true,
): Promise<ClusterNode[]> {
  const cluster = `tr${++clusterN}`;
  const out: ClusterNode[] = [];
  for (const name of names) {
    const system = ActorSystem.start({
      name,
      askTimeoutMs: 2000,
      ...(traced(name) ? { tracing: { tracer: provider.getTracer('test') } } : {}),
    });
    systems.push(system);
    out.push(
      await joinCluster(system, {
        servers: server.url,
        cluster,
        node: name,
        failureDetector: { heartbeatMs: 100, downAfterMs: 600 },
      }),
    );
  }
  await waitFor(
    () => out.every((n) => names.every((m) => m === n.name || n.members().includes(m))),
    'the nodes see each other',
  );
  return out;
}

describe('traceparent', () => {
  it('formats a span context and parses it back as a remote parent; anything else is ignored', () => {
    const span = provider.getTracer('test').startSpan('x');
    const tp = formatTraceparent(trace.setSpan(ROOT_CONTEXT, span)) as string;
    span.end();
    const sc = span.spanContext();
    expect(tp).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
    expect(trace.getSpanContext(parseTraceparent(tp) as never)).toEqual({ ...sc, isRemote: true });
    const bad = [
      undefined,
      42,
      '',
      tp.toUpperCase(),
      `00-${sc.traceId.toUpperCase()}-${sc.spanId}-01`,
      `00-${sc.traceId}-${sc.spanId.toUpperCase()}-01`,
      `${tp}0`,
      tp.slice(1),
      `01${tp.slice(2)}`,
      `00-${'0'.repeat(32)}-${sc.spanId}-01`,
      `00-${sc.traceId}-${'0'.repeat(16)}-01`,
      `00-${sc.traceId.slice(0, 31)}g-${sc.spanId}-01`,
      `00-${sc.traceId}-${sc.spanId}-1`,
    ];
    for (const value of bad) expect(parseTraceparent(value), String(value)).toBeUndefined();
    expect(formatTraceparent(ROOT_CONTEXT)).toBeUndefined();
  });
});

describe.skipIf(unavailable !== null)('tracing across a cluster', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('remote tell and send: the receiving span is a child of the sender’s span, same trace', async () => {
    const [a, b] = (await nodes(server, ['a', 'b'])) as [ClusterNode, ClusterNode];
    const got: Message[] = [];
    const sink = b.system.spawn(record(got), { name: 'sink' });
    const remote = a.refFor<Message>(b.addressOf(sink));
    const told = inSpan(() => remote.tell({ type: 'told' }));
    let sent: Promise<void> = Promise.resolve();
    const sentFrom = inSpan(() => {
      sent = remote.send({ type: 'sent' });
    });
    await sent;
    await waitFor(() => named('handle sent').length === 1 && named('handle told').length === 1, 'two spans');
    for (const [name, parent] of [
      ['handle told', told],
      ['handle sent', sentFrom],
    ] as const) {
      const s = only(name);
      expect(s.spanContext().traceId).toBe(parent.traceId);
      expect(parentOf(s)).toBe(parent.spanId);
      expect(s.attributes['troupe.node']).toBe('b');
      expect(s.attributes['troupe.actor.path']).toBe('/user/sink');
    }
  });

  it('ask round trip: the request and the reply each continue the trace', async () => {
    const [a, b] = (await nodes(server, ['a', 'b'])) as [ClusterNode, ClusterNode];
    type Ping = { type: 'ping'; replyTo: ActorRef<{ type: 'pong' }> };
    const echo = b.system.spawn(
      receive<null, Ping>(null, (s, m, ctx) => {
        ctx.reply(m.replyTo, { type: 'pong' });
        return s;
      }),
      { name: 'echo' },
    );
    const remote = a.refFor<Ping>(b.addressOf(echo));
    // ref.ask from inside a span: the request's handling on b is its child.
    let asked: Promise<unknown> = Promise.resolve();
    const caller = inSpan(() => {
      asked = remote.ask<{ type: 'pong' }>((replyTo) => ({ type: 'ping', replyTo }));
    });
    await expect(asked).resolves.toEqual({ type: 'pong' });
    await waitFor(() => named('handle ping').length === 1, 'the request span');
    expect(parentOf(only('handle ping'))).toBe(caller.spanId);
    expect(only('handle ping').spanContext().traceId).toBe(caller.traceId);
    // The reply settled the ask on a: a span there, child of the replier's handling on b.
    await waitFor(() => named('reply pong').length === 1, 'the reply span on the asking node');
    const reply = only('reply pong');
    expect(parentOf(reply)).toBe(only('handle ping').spanContext().spanId);
    expect(reply.spanContext().traceId).toBe(caller.traceId);
    expect(reply.attributes).toMatchObject({ 'troupe.node': 'a', 'troupe.ask.target': b.addressOf(echo) });
    exporter.reset();

    // Request from an actor, reply to its own mailbox: a → b → a, one trace.
    const asker = a.system.spawn(
      receive<null, { type: 'go' } | { type: 'pong' }>(null, (s, m, ctx) => {
        if (m.type === 'go') remote.tell({ type: 'ping', replyTo: ctx.self as ActorRef<{ type: 'pong' }> });
        return s;
      }),
      { name: 'asker' },
    );
    asker.tell({ type: 'go' });
    await waitFor(() => named('handle pong').length === 1, 'the reply span');
    const go = only('handle go');
    const ping = only('handle ping');
    const pong = only('handle pong');
    expect(parentOf(ping)).toBe(go.spanContext().spanId);
    expect(parentOf(pong)).toBe(ping.spanContext().spanId);
    expect(ping.attributes['troupe.node']).toBe('b');
    expect(pong.attributes['troupe.node']).toBe('a');
    expect(new Set([go, ping, pong].map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it('cluster topic: the event carries the trace; each node’s fan-out continues it', async () => {
    const [a, b] = (await nodes(server, ['a', 'b'])) as [ClusterNode, ClusterNode];
    const ta = await clusterTopic<Message>(a, 'news');
    const tb = await clusterTopic<Message>(b, 'news');
    const gotA: Message[] = [];
    const gotB: Message[] = [];
    await ta.subscribe(a.system.spawn(record(gotA), { name: 'reader' }));
    await tb.subscribe(b.system.spawn(record(gotB), { name: 'reader' }));
    exporter.reset();
    const caller = inSpan(() => ta.publish({ type: 'story' }));
    await waitFor(() => named('handle story', '/user/reader').length === 2, 'both readers');
    for (const node of ['a', 'b']) {
      const spans = named('handle story').filter((s) => s.attributes['troupe.node'] === node);
      const local = spans.find((s) => s.attributes['troupe.actor.path'] === '/user/topic-news');
      const reader = spans.find((s) => s.attributes['troupe.actor.path'] === '/user/reader');
      expect(parentOf(local as ReadableSpan), node).toBe(caller.spanId);
      expect(parentOf(reader as ReadableSpan), node).toBe(local?.spanContext().spanId);
      expect(reader?.spanContext().traceId).toBe(caller.traceId);
    }
    await ta.close();
    await tb.close();
  });

  it('a garbage traceparent on the wire is ignored: delivered, no parent, no crash', async () => {
    const [, b] = (await nodes(server, ['a', 'b'])) as [ClusterNode, ClusterNode];
    const got: Message[] = [];
    const sink = b.system.spawn(record(got), { name: 'sink' });
    const nc = await connect({ servers: server.url });
    try {
      const subject = `troupe.${b.cluster}.node.b`;
      const payload = (n: number) => Buffer.from(JSON.stringify({ type: 'raw', n }));
      const good = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const garbage = [
        'garbage',
        good.toUpperCase(),
        '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
        '00-00000000000000000000000000000000-b7ad6b7169203331-01',
        '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
        `${good}-extra`,
        'x'.repeat(5000),
      ];
      const entries = garbage.map((tp, n) => [TELL, sink.path, sink.id, payload(n), tp] as const);
      nc.publish(
        subject,
        encodeFrame(
          { from: 'x', incarnation: 'x1', target: b.incarnation, seq: 0, base: 0 },
          entries as never,
        ),
      );
      // A traceparent that is not a string at all, in a hand-made header.
      const header = JSON.stringify({
        f: 'x',
        i: 'x1',
        t: b.incarnation,
        s: garbage.length,
        w: 0,
        e: [[TELL, sink.path, sink.id, payload(99).length, { evil: true }]],
      });
      const prefix = Buffer.alloc(6);
      prefix[0] = 0x54;
      prefix[1] = 0x32;
      prefix.writeUInt32BE(Buffer.byteLength(header), 2);
      nc.publish(subject, Buffer.concat([prefix, Buffer.from(header), payload(99)]));
      // Then a valid one: it is the parent.
      nc.publish(
        subject,
        encodeFrame(
          { from: 'x', incarnation: 'x1', target: b.incarnation, seq: garbage.length + 1, base: 0 },
          [[TELL, sink.path, sink.id, payload(100), good]],
        ),
      );
      await nc.flush();
      await waitFor(() => got.length === garbage.length + 2, 'every raw message delivered');
      const spans = named('handle raw');
      expect(spans).toHaveLength(garbage.length + 2);
      const parented = spans.filter((s) => s.parentSpanContext !== undefined);
      expect(parented).toHaveLength(1);
      expect(parented[0]?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(parentOf(parented[0] as ReadableSpan)).toBe('b7ad6b7169203331');
      expect(b.system.inspect(sink)?.processed).toBe(garbage.length + 2);
    } finally {
      await nc.close();
    }
  });

  it('a sender without tracing puts no traceparent on the wire (frames as before)', async () => {
    const [a, b] = (await nodes(server, ['a', 'b'], (name) => name === 'b')) as [ClusterNode, ClusterNode];
    const got: Message[] = [];
    const sink = b.system.spawn(record(got), { name: 'sink' });
    const nc = await connect({ servers: server.url });
    const frames: number[][] = [];
    const sub = nc.subscribe(`troupe.${b.cluster}.node.b`, {
      callback: (err, msg) => {
        if (err !== null) return;
        for (const e of decodeFrame(msg.data).entries) if (e[0] === TELL) frames.push([e.length]);
      },
    });
    await nc.flush();
    try {
      inSpan(() => a.refFor<Message>(b.addressOf(sink)).tell({ type: 'plain' }));
      await waitFor(() => got.length === 1 && frames.length === 1, 'the message and its frame');
      expect(frames).toEqual([[4]]);
      expect(parentOf(only('handle plain'))).toBeUndefined(); // b traces: a new trace there
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });
});

describe.skipIf(unavailable !== null)('tracing through a durable topic', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the stored event carries a traceparent header; the subscriber’s handling continues the trace', async () => {
    const [a] = (await nodes(server, ['a'])) as [ClusterNode];
    const orders = await durableTopic<{ type: 'order'; n: number }>(a, 'orders');
    const got: number[] = [];
    a.system.spawn(
      orders.subscriber({
        name: 'billing',
        start: 'all',
        initial: null,
        handle: (s, e) => {
          got.push(e.n);
          return s;
        },
      }),
      { name: 'billing' },
    );
    let published: Promise<unknown> = Promise.resolve();
    const caller = inSpan(() => {
      published = orders.publish({ type: 'order', n: 1 });
    });
    await published;
    await orders.publish({ type: 'order', n: 2 }); // outside any span: a new trace
    await waitFor(() => got.length === 2, 'both events handled');
    await waitFor(() => named('handle $durable.delivery').length === 2, 'both spans ended');
    const [first, second] = named('handle $durable.delivery') as [ReadableSpan, ReadableSpan];
    expect(first.spanContext().traceId).toBe(caller.traceId);
    expect(parentOf(first)).toBe(caller.spanId);
    expect(parentOf(second)).toBeUndefined();
    expect(first.attributes['troupe.actor.path']).toBe('/user/billing');
    // The span names the topic, the subscription and the event's place in the stream.
    expect(first.attributes).toMatchObject({
      'messaging.destination.name': 'orders',
      'troupe.topic': 'orders',
      'troupe.subscription': 'billing',
      'troupe.durable.seq': 1,
    });
  });
});

describe.skipIf(unavailable !== null)('what is traced on a quiet cluster', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('control traffic is never traced: heartbeats, acks, beacons, subscriptions and watches make no spans', async () => {
    const [a, b] = (await nodes(server, ['a', 'b'])) as [ClusterNode, ClusterNode];
    const got: Message[] = [];
    const sink = b.system.spawn(record(got), { name: 'sink' });
    const onA = await clusterTopic<Message>(a, 'prices');
    const onB = await clusterTopic<Message>(b, 'prices');
    await onB.subscribe(sink);
    const orders = await durableTopic<Message>(a, 'orders');
    b.system.spawn(orders.subscriber({ name: 'billing', start: 'all', initial: null, handle: (s) => s }), {
      name: 'billing',
    });
    const watcher = a.system.spawn(
      receive<null, { type: 'watch'; ref: ActorRef<Message> }>(null, (s, m, ctx) => {
        ctx.watch(m.ref);
        return s;
      }),
    );
    watcher.tell({ type: 'watch', ref: a.refFor(b.addressOf(sink)) });
    onA.publish({ type: 'tick' });
    await waitFor(() => got.length === 1, 'the event arrived');
    exporter.reset();
    // Heartbeats every 100 ms, acks, the topic's beacon every second: no user message at all.
    await new Promise((r) => setTimeout(r, 1300));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([]);
  });
});
