/**
 * The cluster demo's web server (`node:http` only): the live page of the whole cluster, the
 * state it polls, the controls its buttons use, and Prometheus metrics of every node.
 *
 *   GET  /               the page (cluster/page.ts)
 *   GET  /api/state      { cluster, natsUrl, nodes, events, traces } as JSON (ClusterWebState)
 *   POST /api/kill       { node }                       SIGKILL a node's process (the launcher starts it again)
 *   POST /api/control    { node, action: 'crash' | 'slow' | 'flood', path?, ms?, count? }
 *   GET  /metrics        one exposition: every up node's metrics merged (each has a `node` label)
 *   GET  /metrics/<node> that node's metrics
 *
 * Hardened like the single-process demo's server (web/server.ts): binds 127.0.0.1 unless told
 * otherwise; errors are JSON `{ error }` with a 4xx status; bodies are JSON objects of at most
 * 4 KiB; a failing handler answers 500 and never takes the process down; a browser's
 * cross-origin POST is refused (Origin must match Host). Also, while bound to loopback, a
 * request whose Host is not a loopback name is refused (DNS rebinding: a page of another site,
 * its name pointed at 127.0.0.1, must not read or drive the cluster).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ActorTreeNode } from '@troupe/runtime';
import { checkHost, checkOrigin, HttpError, LOOPBACK, readJsonObject, send, sendJson } from '../web/http.js';
import type { ClusterDemo, NodeStatus } from './launcher.js';
import { mergeExpositions } from './metrics.js';
import type { NodeEvent, NodeState } from './node-state.js';
import { CLUSTER_PAGE_CSP, CLUSTER_PAGE_HTML } from './page.js';
import type { Role } from './roles.js';
import type { TraceView } from './tracing.js';

export interface ClusterWebOptions {
  readonly demo: ClusterDemo;
  /** 0 picks a free port (the returned `url` has the real one). */
  readonly port: number;
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string;
}

export interface ClusterWeb {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly url: string;
  /** Closes the server and its connections. Idempotent. */
  close(): Promise<void>;
}

/** An actor of a node's tree, as the page gets it (the counters it shows, no details). */
export interface ActorView {
  readonly path: string;
  readonly name: string;
  readonly kind: ActorTreeNode['kind'];
  readonly status: ActorTreeNode['status'];
  readonly mailboxDepth: number;
  readonly mailboxCapacity: number;
  readonly restarts: number;
  readonly processed: number;
  readonly children: readonly ActorView[];
}

/** A node's last report, trimmed for the page. */
export type NodeStateView = Omit<NodeState, 'tree'> & { readonly tree: ActorView };

export interface NodeCard {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly status: NodeStatus;
  readonly pid: number | undefined;
  readonly starts: number;
  readonly state: NodeStateView | undefined;
}

/** `GET /api/state`. */
export interface ClusterWebState {
  readonly cluster: string;
  readonly natsUrl: string;
  readonly nodes: readonly NodeCard[];
  /** The launcher's and observer's last events, oldest first. */
  readonly events: readonly NodeEvent[];
  /** The last traces of a block through the whole pipeline, newest first (spans in tree order). */
  readonly traces: readonly TraceView[];
}

export { MAX_BODY_BYTES } from '../web/http.js';
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const EVENTS_SENT = 60;
const NODE_EVENTS_SENT = 12;
const ACTIONS = new Set(['crash', 'slow', 'flood']);

const actorView = (node: ActorTreeNode): ActorView => ({
  path: node.path,
  name: node.name,
  kind: node.kind,
  status: node.status,
  mailboxDepth: node.mailboxDepth,
  mailboxCapacity: node.mailboxCapacity,
  restarts: node.restarts,
  processed: node.processed,
  children: node.children.map(actorView),
});

/** What `/api/state` answers, built from the demo's views. */
export function clusterState(demo: ClusterDemo): ClusterWebState {
  return {
    cluster: demo.cluster,
    natsUrl: demo.natsUrl,
    nodes: demo.nodes().map((n) => ({
      name: n.name,
      roles: n.roles,
      status: n.status,
      pid: n.pid,
      starts: n.starts,
      state:
        n.state === undefined
          ? undefined
          : { ...n.state, tree: actorView(n.state.tree), events: n.state.events.slice(-NODE_EVENTS_SENT) },
    })),
    events: demo.events().slice(-EVENTS_SENT),
    traces: demo.traces().slice(0, 3),
  };
}

/** Checks a control request's shape; returns what is forwarded to the node (known fields only). */
function controlBody(body: Record<string, unknown>): Record<string, unknown> {
  const { action, path, ms, count } = body;
  if (typeof action !== 'string' || !ACTIONS.has(action))
    throw new HttpError(400, 'action must be crash, slow or flood');
  if (action === 'flood') {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000)
      throw new HttpError(400, 'count must be an integer from 1 to 10000');
    return { action, count };
  }
  if (typeof path !== 'string' || path === '' || path.length > 200)
    throw new HttpError(400, 'path must be an actor path (a string of 1 to 200 characters)');
  if (action === 'crash') return { action, path };
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 5000)
    throw new HttpError(400, 'ms must be an integer from 0 to 5000');
  return { action, path, ms };
}

function nodeName(body: Record<string, unknown>): string {
  const node = body.node;
  if (typeof node !== 'string' || node === '' || node.length > 64)
    throw new HttpError(400, 'node must be a node name (e.g. "node-1")');
  return node;
}

/** Starts the server; resolves once it listens. */
export async function startClusterWeb(options: ClusterWebOptions): Promise<ClusterWeb> {
  const { demo } = options;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)
    throw new RangeError(`port must be an integer from 0 to 65535; got ${String(options.port)}`);
  let closing: Promise<void> | undefined;
  let loopbackOnly = true;

  const known = (name: string) => demo.nodes().find((n) => n.name === name);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HttpError(405, `${method} is not allowed on ${path}; use ${methods.join(', ')}`, {
          allow: methods.join(', '),
        });
    };
    if (loopbackOnly) checkHost(req);
    const metricsOf = /^\/metrics\/([^/]+)$/.exec(path);
    if (path === '/') {
      allow('GET', 'HEAD');
      send(res, 200, 'text/html; charset=utf-8', CLUSTER_PAGE_HTML, {
        'content-security-policy': CLUSTER_PAGE_CSP,
      });
    } else if (path === '/api/state') {
      allow('GET', 'HEAD');
      sendJson(res, 200, clusterState(demo));
    } else if (path === '/api/kill') {
      allow('POST');
      checkOrigin(req);
      const name = nodeName(await readJsonObject(req));
      const view = known(name);
      if (view === undefined) throw new HttpError(404, `no node ${name}`);
      if (!demo.kill(name)) throw new HttpError(409, `${name} is ${view.status}, not up; try again shortly`);
      sendJson(res, 200, { ok: true });
    } else if (path === '/api/control') {
      allow('POST');
      checkOrigin(req);
      const body = await readJsonObject(req);
      const name = nodeName(body);
      const forwarded = controlBody(body);
      if (known(name) === undefined) throw new HttpError(404, `no node ${name}`);
      const result = await demo.control(name, forwarded);
      const answer =
        typeof result.body === 'object' && result.body !== null
          ? result.body
          : { error: String(result.body).slice(0, 200) };
      sendJson(res, result.status, answer);
    } else if (path === '/metrics') {
      allow('GET', 'HEAD');
      const up = demo.nodes().filter((n) => n.status === 'up');
      const texts = (await Promise.all(up.map((n) => demo.metrics(n.name)))).filter(
        (t): t is string => t !== undefined,
      );
      if (texts.length === 0) throw new HttpError(503, 'no node answered; try again shortly');
      send(res, 200, METRICS_CONTENT_TYPE, mergeExpositions(texts));
    } else if (metricsOf !== null) {
      allow('GET', 'HEAD');
      let name: string;
      try {
        name = decodeURIComponent(metricsOf[1] as string);
      } catch {
        throw new HttpError(404, 'no such node');
      }
      const view = known(name);
      if (view === undefined) throw new HttpError(404, `no node ${name.slice(0, 64)}`);
      const text = await demo.metrics(name);
      if (text === undefined)
        throw new HttpError(503, `${name} is ${view.status} or did not answer; try again shortly`);
      send(res, 200, METRICS_CONTENT_TYPE, text);
    } else {
      throw new HttpError(404, `no route ${path.slice(0, 200)}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendJson(res, error.status, { error: error.message }, error.headers);
        // A body we did not read (too large) must not be parsed as the next request.
        if (!req.complete) res.on('finish', () => req.destroy());
        return;
      }
      process.stderr.write(`[cluster web] ${req.method} ${req.url}: ${String(error)}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => process.stderr.write(`[cluster web] server error: ${String(error)}\n`));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('cluster web: no TCP address');
  loopbackOnly = LOOPBACK.has(address.address);
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
