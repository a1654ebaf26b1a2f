/**
 * The demo must stay up whatever its page sends. These tests drive the real server, in process,
 * with requests a hostile (or merely enthusiastic) page can send: hundreds of crashes until the
 * app's top supervisor gives up, then a flood. Time is virtual, so the app's restart backoff
 * happens only when the test advances it; every wait is bounded polling, never a sleep.
 */
import { ActorSystem } from '@troupe/runtime';
import { logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DashboardApp, startDashboard } from '../src/dashboard/app.js';
import { type Snapshot, startWebServer, type WebServer } from '../src/web/server.js';

const APP = '/user/metrics-app';
const DASHBOARD = `${APP}/subscribers/dashboard`;

let clock: VirtualClock;
let system: ActorSystem;
let app: DashboardApp;
let server: WebServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(async () => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'hostile-test', clock, logger: logSink('silent').logger });
  app = startDashboard(system, { print: () => {}, metricLog: logSink('silent').logger });
  await settle(system);
  server = await startWebServer({ system, app, port: 0, log: logSink('silent').logger });
});

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server.close();
  await shutdownAdvancing(system, clock, { timeoutMs: 1000 });
});

async function post(
  route: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function snapshot(): Promise<Snapshot> {
  const abort = new AbortController();
  const res = await fetch(`${server.url}/events`, { signal: abort.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const match = /event: snapshot\ndata: (.*)\n\n/.exec(text);
      if (match !== null) return JSON.parse(match[1] as string) as Snapshot;
      const { done, value } = await reader.read();
      if (done) throw new Error('stream ended before a snapshot');
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    abort.abort();
  }
}

/** Crashes workers round-robin, 25 requests at a time, until the app gives up (at most 3000). */
async function crashUntilTheAppGivesUp(): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < 3000; ) {
    const batch = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        post('/api/crash', { path: app.workers[(sent + i) % app.workers.length] }),
      ),
    );
    sent += batch.length;
    statuses.push(...batch.map((r) => r.status));
    await settle(system);
    if (batch.some((r) => r.status !== 200)) return statuses;
  }
  throw new Error(`the app never gave up after ${statuses.length} crash requests`);
}

/** Advances virtual time in 100 ms steps until `done()` holds; throws after `maxMs`. */
async function advanceUntil(done: () => boolean, maxMs = 120_000): Promise<void> {
  for (let t = 0; t <= maxMs; t += 100) {
    if (done()) return;
    clock.advance(100);
    await settle(system);
  }
  throw new Error(`condition not met within ${maxMs} ms of virtual time`);
}

describe('a hostile page', () => {
  it('hundreds of crashes, then a flood: every endpoint answers, 503 while the app is gone', async () => {
    const statuses = await crashUntilTheAppGivesUp();
    expect(statuses.length).toBeGreaterThan(100);
    expect(new Set(statuses)).toEqual(new Set([200, 503]));

    // The app's top supervisor gave up; the demo reports it and will start it again.
    expect(app.health()).toMatchObject({ state: 'restarting', escalations: 1 });
    const flood = await post('/api/flood', { count: 1000 });
    expect(flood.status).toBe(503);
    expect(flood.json.error).toMatch(/metrics app is restarting/);
    for (const [route, body] of [
      ['/api/crash', { path: DASHBOARD }],
      ['/api/slow', { path: DASHBOARD, ms: 10 }],
    ] as const) {
      const res = await post(route, body);
      expect(res.status).toBe(503);
      expect(res.json.error).toMatch(/metrics app is restarting/);
    }
    // Bad input is still a 400, not a 503.
    expect((await post('/api/flood', { count: 'lots' })).status).toBe(400);
    expect((await fetch(`${server.url}/`)).status).toBe(200);
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('troupe_demo_app_escalations_total 1');
    const snap = await snapshot();
    expect(snap.health).toMatchObject({ state: 'restarting', escalations: 1 });
    expect(snap.health.lastError).toMatch(/gave up/);
    await settle(system);
    expect(unhandled).toEqual([]);

    // After its backoff the app is back, and the same requests work again.
    await advanceUntil(() => app.health().state === 'running');
    expect(system.lookup(DASHBOARD)).toBeDefined();
    expect((await post('/api/crash', { path: DASHBOARD })).status).toBe(200);
    expect((await post('/api/flood', { count: 100 })).status).toBe(200);
    await settle(system);
    expect((await snapshot()).health).toMatchObject({ state: 'running', escalations: 1 });
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('a flood in flight when the app gives up ends quietly', async () => {
    expect((await post('/api/flood', { count: 100_000 })).status).toBe(200);
    await crashUntilTheAppGivesUp();
    await settle(system);
    await advanceUntil(() => app.health().state === 'running');
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('gives up again and again: the backoff grows, the process stays up', async () => {
    const delays: number[] = [];
    for (let round = 1; round <= 3; round++) {
      await crashUntilTheAppGivesUp();
      expect(app.health()).toMatchObject({ state: 'restarting', escalations: round });
      delays.push(app.health().restartInMs ?? 0);
      await advanceUntil(() => app.health().state === 'running');
    }
    expect(delays[1]).toBeGreaterThan(delays[0] as number);
    expect(delays[2]).toBeGreaterThan(delays[1] as number);
    expect(unhandled).toEqual([]);
  }, 120_000);
});
