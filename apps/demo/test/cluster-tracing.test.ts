/**
 * One block from the source on node-1 yields one trace whose spans cover the decoder and the
 * oracle on node-2, and the detector, the execution engine and the ledger on node-3, each the
 * descendant of the one before (trace context in the cluster envelope, the cluster topic's
 * header and JetStream's headers). Real node processes, real nats-server, the SDK's spans.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { natsUnavailable } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { type ClusterDemo, startClusterDemo } from '../src/cluster/launcher.js';
import type { TraceView } from '../src/cluster/tracing.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping the cluster tracing test: ${unavailable}`);

describe.skipIf(unavailable !== null)('tracing across the cluster demo', () => {
  let demo: ClusterDemo | undefined;
  // A stand-in OTLP/HTTP collector: what the nodes export with --otlp.
  const received: { path: string; type: string; body: string }[] = [];
  let collector: Server | undefined;
  afterAll(async () => {
    await demo?.stop(1000);
    await new Promise((resolve) => collector?.close(resolve) ?? resolve(undefined));
  });

  it('follows one block through every hop, in parent-child order, across three nodes', async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector?.listen(0, '127.0.0.1', resolve));
    const otlp = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    demo = await startClusterDemo({ nodes: 3, executeMs: 5, otlp }, () => {});
    await waitFor(() => (demo?.traces().length ?? 0) > 0, 'a trace from the source to the ledger', 40_000);
    const trace = demo.traces()[0] as TraceView;
    const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
    const root = trace.spans[0];
    expect(root).toMatchObject({ node: 'node-1', depth: 0 });
    expect(root?.parentSpanId).toBeUndefined();
    expect(root?.name).toMatch(/^block \d+$/);
    expect(trace.spans.every((s) => s.traceId === trace.traceId)).toBe(true);

    const hop = (node: string, path: string) => {
      const span = trace.spans.find((s) => s.node === node && s.path === path);
      expect(span, `a span of ${path} on ${node}`).toBeDefined();
      return span as NonNullable<typeof span>;
    };
    const chain = [
      hop('node-2', '/user/flow/decoder'),
      hop('node-2', '/user/flow/oracle'),
      hop('node-3', '/user/flow/detector'),
      hop('node-3', '/user/flow/execution'),
      hop('node-3', '/user/flow/ledger'),
    ];
    const isDescendant = (
      span: { parentSpanId: string | undefined },
      ancestor: { spanId: string },
    ): boolean => {
      for (let p = span.parentSpanId; p !== undefined; p = byId.get(p)?.parentSpanId)
        if (p === ancestor.spanId) return true;
      return false;
    };
    let previous: { spanId: string } = root as { spanId: string };
    for (const span of chain) {
      expect(isDescendant(span, previous), `${span.path} under the previous hop`).toBe(true);
      previous = span;
    }
    // Across NATS the block reaches node-2's local fan-out of the topic, a direct child of the
    // block's span; the decoder's span is that fan-out's child.
    const fanOut = byId.get(chain[0]?.parentSpanId ?? '');
    expect(fanOut).toMatchObject({ node: 'node-2', path: '/user/topic-blocks', parentSpanId: root?.spanId });

    // --otlp: the same spans reach an OTLP/HTTP collector (the SDK batches them every few seconds).
    await waitFor(
      () => received.some((r) => r.body.includes('/user/flow/ledger')),
      'spans at the collector',
      30_000,
    );
    expect(received.every((r) => r.path === '/v1/traces')).toBe(true);
    expect(received.some((r) => r.body.includes(trace.traceId) || r.body.includes('block '))).toBe(true);
  }, 90_000);
});
