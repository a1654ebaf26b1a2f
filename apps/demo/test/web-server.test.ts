import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Script } from 'node:vm';
import { ActorSystem, type ActorTreeNode } from '@troupe/runtime';
import { logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DashboardApp, startDashboard } from '../src/dashboard/app.js';
import { type Snapshot, startWebServer, type WebServer } from '../src/web/server.js';

const DASHBOARD = '/user/metrics-app/subscribers/dashboard';

let clock: VirtualClock;
let system: ActorSystem;
let app: DashboardApp;
let server: WebServer;

/** A dashboard on virtual time (no summaries until the test advances it) behind a real server. */
async function start(options: { snapshotIntervalMs?: number } = {}) {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'web-test', clock, logger: logSink('warn').logger });
  app = startDashboard(system, { print: () => {}, metricLog: logSink('silent').logger });
  await settle(system);
  server = await startWebServer({ system, app, port: 0, log: logSink('silent').logger, ...options });
}

/** Moves virtual time forward in 10 ms steps, letting the actors run at each. */
async function advance(ms: number) {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await settle(system);
  }
}

afterEach(async () => {
  await server.close();
  await shutdownAdvancing(system, clock, { timeoutMs: 1000 });
});

/** Reads `/events` one snapshot at a time. */
class EventReader {
  private buffer = '';
  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly abort: AbortController,
  ) {}

  static async open(url: string): Promise<EventReader> {
    const abort = new AbortController();
    const response = await fetch(`${url}/events`, { signal: abort.signal });
    if (response.body === null) throw new Error('no body');
    return new EventReader(response, response.body.getReader(), abort);
  }

  /** The next `snapshot` event, or undefined when the server ended the stream. */
  async next(): Promise<Snapshot | undefined> {
    const decoder = new TextDecoder();
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const lines = block.split('\n');
        if (!lines.includes('event: snapshot')) continue;
        const data = lines.find((l) => l.startsWith('data: '));
        return JSON.parse((data as string).slice('data: '.length)) as Snapshot;
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += decoder.decode(value, { stream: true });
    }
  }

  close(): void {
    this.abort.abort();
  }
}

async function firstSnapshot(): Promise<Snapshot> {
  const events = await EventReader.open(server.url);
  try {
    return (await events.next()) as Snapshot;
  } finally {
    events.close();
  }
}

function find(node: ActorTreeNode, path: string): ActorTreeNode | undefined {
  if (node.path === path) return node;
  for (const child of node.children) {
    const found = find(child, path);
    if (found !== undefined) return found;
  }
  return undefined;
}

function paths(node: ActorTreeNode): string[] {
  return [node.path, ...node.children.flatMap(paths)];
}

function post(route: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('web server', () => {
  it('binds 127.0.0.1 on the port the OS picked', async () => {
    await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
  });

  it('rejects when the port is taken', async () => {
    await start();
    const port = Number(new URL(server.url).port);
    await expect(startWebServer({ system, app, port, log: logSink('silent').logger })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });

  it('GET / serves the self-contained page', async () => {
    await start();
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("new EventSource('/events')");
    expect(html).toContain('data-testid="tree"');
    // No external resources: the only absolute URL is the SVG namespace.
    expect(html.match(/https?:\/\/[^\s'"]+/g) ?? []).toEqual(['http://www.w3.org/2000/svg']);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(?!data:)/);
    // The inline script compiles, and the CSP allows exactly it (by hash).
    const script = html.match(/<script>([\s\S]*)<\/script>/)?.[1] ?? '';
    expect(() => new Script(script)).not.toThrow();
    const hash = createHash('sha256').update(script).digest('base64');
    expect(res.headers.get('content-security-policy')).toContain(`script-src 'sha256-${hash}'`);
  });

  it('GET /events sends a snapshot at once: tree, summaries, dead letters, workers', async () => {
    await start();
    const events = await EventReader.open(server.url);
    expect(events.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const snap = (await events.next()) as Snapshot;
    events.close();
    expect(snap.tree.path).toBe('/user');
    expect(paths(snap.tree)).toEqual(expect.arrayContaining([...app.workers, '/user/metrics-app/metrics']));
    expect(snap.workers).toEqual(app.workers);
    expect(snap.summaries).toEqual([]);
    expect(snap.deadLetters).toEqual([]);
    expect(snap.deadLettersTotal).toBe(0);
    const topic = find(snap.tree, '/user/metrics-app/metrics');
    expect(topic?.details).toMatchObject({ type: 'TopicStats', subscriptions: expect.any(Array) });
  });

  it('pushes a snapshot at each new summary, without waiting for the timer', async () => {
    await start({ snapshotIntervalMs: 600_000 });
    const events = await EventReader.open(server.url);
    expect((await events.next())?.summaries).toHaveLength(0);
    const next = events.next();
    await advance(1000);
    const snap = (await next) as Snapshot;
    events.close();
    expect(snap.summaries).toHaveLength(1);
    expect(snap.summaries[0]).toMatchObject({ dbQueries: expect.any(Number), requests: expect.any(Number) });
  });

  it('pushes snapshots on its timer too, and close() ends open streams', async () => {
    await start({ snapshotIntervalMs: 5 });
    const events = await EventReader.open(server.url);
    for (let i = 0; i < 3; i++) expect((await events.next())?.tree.path).toBe('/user');
    await server.close();
    // The stream ends (possibly after snapshots already on the wire).
    while ((await events.next()) !== undefined) {}
    await server.close(); // idempotent
    await expect(fetch(`${server.url}/`)).rejects.toThrow();
  });

  it('runs its timer only while a stream is open, and pushes on it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      await start({ snapshotIntervalMs: 500 });
      expect(vi.getTimerCount()).toBe(0);
      const events = await EventReader.open(server.url);
      await events.next();
      expect(vi.getTimerCount()).toBe(1);
      const next = events.next();
      vi.advanceTimersByTime(500);
      expect((await next)?.tree.path).toBe('/user');
      events.close();
      // The server sees the disconnect a few event-loop turns later.
      for (let turn = 0; turn < 1000 && vi.getTimerCount() > 0; turn++)
        await new Promise((r) => setImmediate(r));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('GET /metrics: Prometheus text with one line per actor and metric', async () => {
    await start();
    await advance(1000);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const names = [
      'troupe_actor_received_total',
      'troupe_actor_processed_total',
      'troupe_actor_failed_total',
      'troupe_actor_dropped_total',
      'troupe_actor_restarts_total',
      'troupe_actor_mailbox_depth',
    ];
    const tree = system.tree();
    for (const name of names) {
      expect(text).toContain(`# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`);
      for (const path of paths(tree))
        expect(text).toMatch(new RegExp(`^${name}\\{path="${path}"\\} \\d+$`, 'm'));
    }
    const received = find(tree, DASHBOARD)?.received ?? 0;
    expect(received).toBeGreaterThan(0);
    expect(text).toContain(`troupe_actor_received_total{path="${DASHBOARD}"} ${received}`);
    expect(text).toMatch(/^troupe_dead_letters_total 0$/m);
    expect(text).toMatch(
      new RegExp(
        `^troupe_topic_delivered_total\\{topic="/user/metrics-app/metrics",subscriber="${DASHBOARD}"\\} [1-9]\\d*$`,
        'm',
      ),
    );
  });

  it('GET /metrics: topic published counts, handler-time histogram and Node process metrics', async () => {
    await start();
    await advance(1000);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('# TYPE troupe_topic_published_total counter');
    expect(text).toContain('# TYPE troupe_demo_handler_seconds histogram');
    expect(text).toMatch(
      new RegExp(`^troupe_demo_handler_seconds_bucket\\{le="0\\.001",path="${DASHBOARD}"\\} \\d+$`, 'm'),
    );
    expect(text).toMatch(
      new RegExp(`^troupe_demo_handler_seconds_count\\{path="${DASHBOARD}"\\} [1-9]\\d*$`, 'm'),
    );
    // collectDefaultMetrics on the server's own registry
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('each summary carries what every subscriber missed, not only the dashboard', async () => {
    await start();
    await advance(1000);
    expect(app.slow('/user/metrics-app/subscribers/logger', 200)).toEqual({ ok: true });
    expect(app.flood(3000)).toEqual({ ok: true });
    for (let t = 0; t < 20_000 && !app.summaries.some((s) => s.missedAll > 0); t += 100) await advance(100);
    const missing = app.summaries.find((s) => s.missedAll > 0);
    expect(missing).toBeDefined();
    // The slow logger missed events the (fast) dashboard did not: the sum is over every subscriber.
    expect(missing?.missedAll).toBeGreaterThan(missing?.missed ?? 0);
    const topic = find(system.tree(), '/user/metrics-app/metrics')?.details as {
      subscriptions: { missed: number }[];
    };
    const total = topic.subscriptions.reduce((sum, sub) => sum + sub.missed, 0);
    expect(app.summaries.reduce((sum, s) => sum + s.missedAll, 0)).toBeLessThanOrEqual(total);
    const snap = await firstSnapshot();
    expect(snap.summaries.at(-1)).toHaveProperty('missedAll');
  });

  it('snapshots carry the Alerter’s alerts, and the clock to date them by', async () => {
    clock = new VirtualClock();
    system = ActorSystem.start({ name: 'web-test', clock, logger: logSink('warn').logger });
    app = startDashboard(system, { print: () => {}, metricLog: logSink('silent').logger, alertThreshold: 0 });
    await settle(system);
    server = await startWebServer({ system, app, port: 0, log: logSink('silent').logger });
    for (let t = 0; t < 60_000 && app.alerts.length === 0; t += 100) await advance(100);
    const snap = await firstSnapshot();
    expect(snap.alerts[0]).toMatchObject({ kind: 'alert', threshold: 0 });
    expect(snap.alerts[0]?.errorsPerMinute).toBeGreaterThan(0);
    expect(snap.now).toBe(clock.now());
    expect(find(snap.tree, '/user/metrics-app/subscribers/alerter')?.details).toEqual({ state: 'alerting' });
  });

  it('the topic counter only grows, even when a fresh app (and topic) starts from 0', async () => {
    await start();
    const published = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const match = /^troupe_topic_published_total\{topic="\/user\/metrics-app\/metrics"\} (\d+)$/m.exec(
        text,
      );
      if (match === null) throw new Error(`no topic counter in:\n${text}`);
      return Number(match[1]);
    };
    await advance(1000);
    const first = await published();
    expect(first).toBeGreaterThan(0);
    await advance(500);
    const second = await published();
    expect(second).toBeGreaterThan(first);
    // Crash until the app's supervisor gives up; the keeper starts a new app, whose topic counts from 0.
    for (let i = 0; i < 3000 && app.health().state === 'running'; i++) {
      app.crash(app.workers[i % app.workers.length]);
      if (i % 25 === 24) await settle(system);
    }
    expect(app.health().state).toBe('restarting');
    for (let t = 0; t < 10_000 && app.health().state !== 'running'; t += 100) await advance(100);
    expect(app.health().state).toBe('running');
    const topic = find(system.tree(), '/user/metrics-app/metrics')?.details as { published: number };
    expect(topic.published).toBeLessThan(second);
    expect(await published()).toBeGreaterThanOrEqual(second);
  });

  it('POST /api/crash restarts the actor: its restart count goes up in the snapshot and /metrics', async () => {
    await start();
    expect(find((await firstSnapshot()).tree, DASHBOARD)?.restarts).toBe(0);
    const res = await post('/api/crash', JSON.stringify({ path: DASHBOARD }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    await settle(system);
    expect(find((await firstSnapshot()).tree, DASHBOARD)).toMatchObject({ restarts: 1, status: 'running' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`troupe_actor_restarts_total{path="${DASHBOARD}"} 1`);
  });

  it('POST /api/slow and /api/flood apply valid commands', async () => {
    await start();
    expect((await post('/api/slow', JSON.stringify({ path: DASHBOARD, ms: 0 }))).status).toBe(200);
    const flood = await post('/api/flood', JSON.stringify({ count: 50 }), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(flood.status).toBe(200);
    await settle(system);
    const topic = find(system.tree(), '/user/metrics-app/metrics');
    expect(topic?.details).toMatchObject({ published: expect.any(Number) });
    expect((topic?.details as { published: number } | undefined)?.published).toBeGreaterThanOrEqual(50);
  });

  it.each([
    [
      'no Content-Type',
      '/api/crash',
      '{}',
      { 'content-type': '' },
      415,
      /Content-Type must be application\/json/,
    ],
    ['text/plain', '/api/crash', '{}', { 'content-type': 'text/plain' }, 415, /got text\/plain/],
    [
      'a body over 4 KiB',
      '/api/crash',
      JSON.stringify({ path: 'x'.repeat(5000) }),
      {},
      413,
      /larger than 4096/,
    ],
    ['malformed JSON', '/api/crash', '{"path":', {}, 400, /^malformed JSON/],
    ['a JSON array', '/api/flood', '[5000]', {}, 400, /body must be a JSON object/],
    ['an unknown actor', '/api/crash', '{"path":"/user/nope"}', {}, 400, /unknown actor path: \/user\/nope/],
    ['a path that is no string', '/api/crash', '{"path":42}', {}, 400, /unknown actor path/],
    [
      'a bad delay',
      '/api/slow',
      JSON.stringify({ path: DASHBOARD, ms: -1 }),
      {},
      400,
      /ms must be an integer/,
    ],
    ['a bad count', '/api/flood', '{"count":"lots"}', {}, 400, /count must be an integer/],
    ['a cross-origin browser', '/api/crash', '{}', { origin: 'http://evil.example' }, 403, /cross-origin/],
  ])('POST with %s → %i', async (_what, route, body, headers, status, error) => {
    await start();
    const res = await post(route, body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(((await res.json()) as { error: string }).error).toMatch(error);
    expect(find(system.tree(), DASHBOARD)?.restarts).toBe(0);
  });

  it('refuses a request whose Host is not a loopback name (a DNS-rebound page), also for GET', async () => {
    await start();
    const { port } = new URL(server.url);
    const answer = (host: string, method: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const rebound = await answer(`evil.example:${port}`, 'GET', '/metrics');
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Host evil\.example.* refused/);
    expect((await answer(`localhost:${port}`, 'GET', '/metrics')).status).toBe(200);
    expect((await answer(`127.0.0.1:${port}`, 'GET', '/')).status).toBe(200);
  });

  it('refuses a chunked body once it passes 4 KiB (no Content-Length to trust)', async () => {
    await start();
    const { port } = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/flood',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(`{"count":1,"pad":"${'x'.repeat(3000)}`);
      req.write(`${'x'.repeat(3000)}"}`);
      req.end();
    });
    expect(status).toBe(413);
  });

  it('unknown routes → 404, wrong methods → 405 with Allow', async () => {
    await start();
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route /nope' });
    const get = await fetch(`${server.url}/api/crash`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as { error: string }).error).toBe(
      'GET is not allowed on /api/crash; use POST',
    );
    const postPage = await post('/', '{}');
    expect(postPage.status).toBe(405);
    expect(postPage.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${server.url}/events`, { method: 'DELETE' })).status).toBe(405);
  });
});
