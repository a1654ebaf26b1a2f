/**
 * The demo's web server (`node:http` only): the live page, a Server-Sent Events stream of
 * snapshots, the control API the page's buttons use, and Prometheus metrics.
 *
 *   GET  /            the page (web/page.ts)
 *   GET  /events      text/event-stream: a `snapshot` event on connect, every 500 ms, and at
 *                     each new dashboard summary
 *   GET  /metrics     Prometheus text format: per-actor and per-topic counters read from
 *                     `system.tree()`, the workers' handler times, and Node's process metrics
 *   POST /api/crash   { path }        application/json, at most 4 KiB
 *   POST /api/slow    { path, ms }
 *   POST /api/flood   { count }
 *
 * Binds 127.0.0.1 unless told otherwise. Errors are JSON `{ error }` with a 4xx status; a
 * failing handler answers 500 and is logged, never taking the process down.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ActorSystem, ActorTreeNode, Logger } from '@troupe/runtime';
import type { CommandResult, DashboardApp } from '../dashboard/app.js';
import { checkHost, checkOrigin, HttpError, LOOPBACK, readJsonObject, send, sendJson } from './http.js';
import { actorMetrics } from './metrics.js';
import { PAGE_CSP, PAGE_HTML } from './page.js';

export { MAX_BODY_BYTES } from './http.js';

export interface WebServerOptions {
  readonly system: ActorSystem;
  readonly app: DashboardApp;
  /** 0 picks a free port (the returned `url` has the real one). */
  readonly port: number;
  /** Interface to bind (default `127.0.0.1`: never reachable from another machine unless asked). */
  readonly host?: string;
  /** Default: the system's logger. */
  readonly log?: Logger;
  /** How often `/events` pushes a snapshot, in ms (default 500). */
  readonly snapshotIntervalMs?: number;
}

export interface WebServer {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly url: string;
  /** Ends the event streams, stops the timer and closes the server. Idempotent. */
  close(): Promise<void>;
}

/** What `/events` sends, as JSON, in each `snapshot` event. */
export interface Snapshot {
  readonly tree: ActorTreeNode;
  /** The last 60 summaries, oldest first. */
  readonly summaries: DashboardApp['summaries'];
  /** The Alerter's last alerts and all-clears, oldest first. */
  readonly alerts: DashboardApp['alerts'];
  /** The last 20 dead letters, oldest first. */
  readonly deadLetters: DashboardApp['deadLetters'];
  /** Every dead letter since the system started. */
  readonly deadLettersTotal: number;
  readonly workers: DashboardApp['workers'];
  /** The system clock's `now()` when the snapshot was taken (the scale of `at` in summaries and alerts). */
  readonly now: number;
  /** Whether the app is up, or restarting after its supervisor gave up. */
  readonly health: ReturnType<DashboardApp['health']>;
}

const SUMMARIES_SENT = 60;
const DEAD_LETTERS_SENT = 20;

type Command = (body: Record<string, unknown>) => CommandResult;

/** Starts the server; resolves once it listens. */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { system, app } = options;
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? system.log;
  const intervalMs = options.snapshotIntervalMs ?? 500;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)
    throw new RangeError(`port must be an integer from 0 to 65535; got ${String(options.port)}`);
  if (!(intervalMs > 0)) throw new RangeError(`snapshotIntervalMs must be > 0; got ${intervalMs}`);

  const metrics = actorMetrics(system, app);
  const unobserve = metrics.observeHandlerTimes();
  const streams = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const snapshot = (): string | undefined => {
    const value: Snapshot = {
      tree: system.tree(),
      summaries: app.summaries.slice(-SUMMARIES_SENT),
      alerts: app.alerts,
      deadLetters: app.deadLetters.slice(-DEAD_LETTERS_SENT),
      deadLettersTotal: system.deadLetters,
      workers: app.workers,
      health: app.health(),
      now: system.clock.now(),
    };
    try {
      return `event: snapshot\ndata: ${JSON.stringify(value)}\n\n`;
    } catch (error) {
      log.warn({ err: error }, 'web: could not serialize a snapshot');
      return undefined;
    }
  };
  /** One serialization for every open stream. A stream still draining skips it (the next one replaces it). */
  const broadcast = () => {
    if (streams.size === 0) return;
    const event = snapshot();
    if (event === undefined) return;
    for (const res of streams) if (!res.writableNeedDrain) res.write(event);
  };
  const unsubscribe = app.onSummary(() => broadcast());

  const commands: Record<string, Command> = {
    '/api/crash': (body) => app.crash(body.path),
    '/api/slow': (body) => app.slow(body.path, body.ms),
    '/api/flood': (body) => app.flood(body.count),
  };

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    if (closing !== undefined) throw new HttpError(503, 'server is closing');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    res.write('retry: 1000\n\n');
    const first = snapshot();
    if (first !== undefined) res.write(first);
    streams.add(res);
    timer ??= setInterval(broadcast, intervalMs);
    res.on('close', () => {
      streams.delete(res);
      if (streams.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  };

  /** Set once listening: whether only this machine can reach the server (then Host must be a loopback name). */
  let loopbackOnly = true;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (loopbackOnly) checkHost(req);
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HttpError(405, `${method} is not allowed on ${path}; use ${methods.join(', ')}`, {
          allow: methods.join(', '),
        });
    };
    if (path === '/') {
      allow('GET', 'HEAD');
      send(res, 200, 'text/html; charset=utf-8', PAGE_HTML, { 'content-security-policy': PAGE_CSP });
    } else if (path === '/events') {
      allow('GET');
      openStream(req, res);
    } else if (path === '/metrics') {
      allow('GET', 'HEAD');
      send(res, 200, metrics.contentType, await metrics.scrape());
    } else if (Object.hasOwn(commands, path)) {
      allow('POST');
      checkOrigin(req);
      const body = await readJsonObject(req);
      const result = (commands[path] as Command)(body);
      if (!result.ok) throw new HttpError(result.reason === 'invalid' ? 400 : 503, result.error);
      sendJson(res, 200, { ok: true });
      log.info({ route: path, path: body.path, ms: body.ms, count: body.count }, 'web: command applied');
    } else {
      throw new HttpError(404, `no route ${path}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        log.debug({ method: req.method, url: req.url, status: error.status }, error.message);
        if (!res.headersSent) sendJson(res, error.status, { error: error.message }, error.headers);
        // A body we did not read (too large) must not be parsed as the next request.
        if (!req.complete) res.on('finish', () => req.destroy());
        return;
      }
      log.error({ err: error, method: req.method, url: req.url }, 'web: request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    unobserve();
    throw error;
  }
  server.on('error', (error) => log.error({ err: error }, 'web: server error'));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('web: server has no TCP address');
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  loopbackOnly = LOOPBACK.has(address.address);
  if (!loopbackOnly)
    log.warn({ url }, 'web: listening beyond loopback: other machines can crash actors here');
  else log.debug({ url }, 'web: listening');

  return {
    url,
    close() {
      closing ??= (async () => {
        unsubscribe();
        unobserve();
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
        const ended = [...streams].map(endStream);
        streams.clear();
        await Promise.all(ended);
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error === undefined ? resolve() : reject(error)));
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** Ends an event stream; resolves once it finished or its connection closed. */
function endStream(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
    res.end();
  });
}
