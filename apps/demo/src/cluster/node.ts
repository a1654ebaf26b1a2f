/**
 * One node process of the cluster demo (started by the launcher, `launcher.ts`): joins the
 * cluster, runs its roles of the flow on its own SQLite file, and serves on 127.0.0.1:
 *
 *   GET  /state     NodeState as JSON (tree, counters, per-peer link stats, events)
 *   GET  /metrics   Prometheus text format
 *   GET  /traces    the most recent finished spans of this node (SpanView[])
 *   POST /control   { action: 'crash' | 'slow', path, ms? } | { action: 'flood', count }
 *
 * SIGTERM or SIGINT: a graceful shutdown (drain, leave the cluster), then one line
 * `final <NodeState as JSON>` on stdout, exit 0.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { joinCluster } from '@troupe/cluster';
import { sqliteStore } from '@troupe/persistence';
import { type ActorRef, ActorSystem } from '@troupe/runtime';
import pino from 'pino';
import { type Control, startFlow } from './flow.js';
import { nodeMetrics } from './metrics.js';
import type { NodeConfig, NodeEvent, NodeState } from './node-state.js';
import { nodeName, rolesOf } from './roles.js';
import { nodeTracing } from './tracing.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeConfig;
const name = nodeName(config.index);
const roles = rolesOf(config.index, config.count);
const logger = pino({ level: config.logLevel, base: { node: name } }, pino.destination(2));
const tracing = nodeTracing(name, config.otlp);
const system = ActorSystem.start({ name, logger, tracing: { tracer: tracing.tracer, node: name } });
const events: NodeEvent[] = [];
const note = (text: string) => {
  events.push({ at: Date.now(), text });
  if (events.length > 50) events.shift();
};
const deadLetters = new Map<string, number>();
system.events.subscribe((e) => {
  if (e.type === 'DeadLetter') {
    deadLetters.set(e.reason, (deadLetters.get(e.reason) ?? 0) + 1);
    if (e.reason === 'invalid' || e.reason === 'failed')
      note(
        `dead letter (${e.reason}) for ${e.recipient}: ${String(e.error ?? JSON.stringify(e.message) ?? '').slice(0, 160)}`,
      );
  } else if (e.type === 'NodeUp' || e.type === 'NodeDown' || e.type === 'NodeLeft')
    note(`${e.type} ${e.node}`);
  else if (e.type === 'MessagesLost') note(`MessagesLost ${e.node}: ${e.count}`);
  else if (e.type === 'ActorRestarted') note(`restarted ${e.path}`);
});

const node = await joinCluster(system, { servers: config.nats, cluster: config.cluster, node: name });
const store = sqliteStore({ path: join(config.dataDir, `${name}.db`) });
const flow = await startFlow(system, node, roles, store, {
  blockMs: config.blockMs,
  executeMs: config.executeMs,
  tracer: tracing.tracer,
});
const metrics = nodeMetrics(system, node, flow.counters, deadLetters);
const started = Date.now();

const state = (): NodeState => ({
  node: name,
  pid: process.pid,
  roles,
  uptimeS: Math.round((Date.now() - started) / 1000),
  counters: { ...flow.counters },
  deadLetters: Object.fromEntries(deadLetters),
  cluster: node.stats(),
  tree: system.tree(),
  workers: flow.workers,
  events,
});

function control(body: Record<string, unknown>): { status: number; body: unknown } {
  const action = body.action;
  if (action === 'stopSource') {
    flow.stopSource();
    return { status: 200, body: { ok: true } };
  }
  if (action === 'flood') {
    const count = body.count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000)
      return { status: 400, body: { error: 'count must be an integer from 1 to 10000' } };
    flow.flood(count);
    return { status: 200, body: { ok: true } };
  }
  const path = body.path;
  if (typeof path !== 'string' || !flow.workers.includes(path))
    return { status: 404, body: { error: `not a worker of ${name}: ${String(path).slice(0, 100)}` } };
  const ref = system.lookup(path) as ActorRef<Control> | undefined;
  if (ref === undefined) return { status: 409, body: { error: `${path} is not running; try again shortly` } };
  if (action === 'crash') ref.tell({ type: 'Crash' });
  else if (action === 'slow') {
    const ms = body.ms;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 5000)
      return { status: 400, body: { error: 'ms must be an integer from 0 to 5000' } };
    ref.tell({ type: 'SetDelay', ms });
  } else return { status: 400, body: { error: 'action must be crash, slow or flood' } };
  return { status: 200, body: { ok: true } };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4096) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('expected a JSON object');
  return value as Record<string, unknown>;
}

const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const server = createServer((req, res) => {
  (async () => {
    if (req.method === 'GET' && req.url === '/state') return send(res, 200, state());
    if (req.method === 'GET' && req.url === '/traces') return send(res, 200, tracing.recent());
    if (req.method === 'GET' && req.url === '/metrics')
      return send(res, 200, await metrics.scrape(), metrics.contentType);
    if (req.method === 'POST' && req.url === '/control') {
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch (error) {
        return send(res, 400, { error: (error as Error).message });
      }
      const result = control(body);
      return send(res, result.status, result.body);
    }
    send(res, 404, { error: 'not found' });
  })().catch((error: unknown) => {
    logger.error({ err: error }, 'control request failed');
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
});
await new Promise<void>((resolve) => server.listen(config.port, '127.0.0.1', resolve));
process.stdout.write(`ready ${name} pid ${process.pid} roles ${roles.join(',') || '-'}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.close();
  await system.shutdown({ timeoutMs: 3000 });
  const final = state();
  await store.close();
  await tracing.shutdown().catch(() => {}); // flushes what --otlp still holds
  process.stdout.write(`final ${JSON.stringify({ ...final, tree: undefined })}\n`);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
