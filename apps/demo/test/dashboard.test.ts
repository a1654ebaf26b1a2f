import { ActorSystem } from '@troupe/runtime';
import { logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboard } from '../src/dashboard/app.js';

let system: ActorSystem;
let clock: VirtualClock;
afterEach(async () => {
  // Graceful shutdown runs on the virtual clock too: advance it until everything stopped.
  await shutdownAdvancing(system, clock, { timeoutMs: 1000 });
});

/** Runs the dashboard on virtual time for `seconds`, in 10 ms steps. */
async function run(seconds: number, options: { errorRate?: number; alertThreshold?: number } = {}) {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'dashboard-test', clock, logger: logSink('warn').logger });
  const lines: string[] = [];
  const metricLog = logSink('info');
  const app = startDashboard(system, {
    print: (l) => lines.push(l),
    metricLog: metricLog.logger,
    ...options,
  });
  await settle(system);
  for (let t = 0; t < seconds * 100; t++) {
    clock.advance(10);
    await settle(system);
  }
  return { app, lines, metricLines: metricLog.lines };
}

describe('dashboard scenario (virtual time)', () => {
  it('prints a summary every second: 10 web events and 4 DB queries per second', async () => {
    const { app, lines } = await run(3);
    expect(app.summaries).toHaveLength(3);
    // The dashboard's tick was armed before the publishers' timers, so events due at the same
    // instant as a tick land in the next summary: the first one has 9 and 3.
    expect(app.summaries[0]).toMatchObject({ dbQueries: 3 });
    expect((app.summaries[0]?.requests ?? 0) + (app.summaries[0]?.errors ?? 0)).toBe(9);
    for (const s of app.summaries.slice(1)) {
      expect(s.requests + s.errors).toBe(10);
      expect(s.dbQueries).toBe(4);
      expect(s.avgLatencyMs).toBeGreaterThanOrEqual(20);
      expect(s.avgLatencyMs).toBeLessThanOrEqual(150);
    }
    const first = lines.indexOf('[dashboard] === 1s summary ===');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(lines[first + 1]).toMatch(/^ {2}Requests: \d+, avg latency: \d+ms$/);
    expect(lines[first + 2]).toMatch(/^ {2}DB queries: \d+, avg: \d+ms$/);
    expect(lines[first + 3]).toMatch(/^ {2}Errors: \d+$/);
  });

  it('the logger writes every metric through pino, one line per metric', async () => {
    const { app, metricLines } = await run(2);
    const total = app.summaries.reduce((n, s) => n + s.requests + s.errors + s.dbQueries, 0);
    const metrics = metricLines.filter((l) => l.msg === 'metric');
    expect(metrics.length).toBeGreaterThanOrEqual(total);
    expect(metrics[0]?.line).toMatch(
      /^(Request \{ path: "\/[a-z/]+", latency_ms: \d+ \}|DbQuery \{ query: ".+", duration_ms: \d+ \}|Error \{ message: ".+" \})$/,
    );
  });

  it('the alerter alerts once the error rate passes the threshold per minute', async () => {
    const { lines } = await run(3, { errorRate: 0.5, alertThreshold: 5 });
    expect(lines.filter((l) => l.startsWith('[ALERT] Error rate:'))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith('[ALERT]'))).toMatch(
      /^\[ALERT\] Error rate: 6\/min — threshold exceeded!$/,
    );
  });

  it('a crashed subscriber is restarted in place and keeps receiving', async () => {
    const { app } = await run(1);
    expect(app.crash('/user/metrics-app/subscribers/dashboard')).toEqual({ ok: true });
    await settle(system);
    const node = system
      .tree()
      .children[0]?.children.find((c) => c.name === 'subscribers')
      ?.children.find((c) => c.name === 'dashboard');
    expect(node).toMatchObject({ status: 'running', restarts: 1 });
  });

  it('validates commands from the page', async () => {
    const { app } = await run(0);
    expect(app.crash('/user/elsewhere')).toEqual({
      ok: false,
      reason: 'invalid',
      error: 'unknown actor path: /user/elsewhere',
    });
    expect(app.slow('/user/metrics-app/subscribers/logger', 99_999)).toMatchObject({ ok: false });
    expect(app.slow('/user/metrics-app/subscribers/logger', 200)).toEqual({ ok: true });
    expect(app.flood(0)).toMatchObject({ ok: false });
    expect(app.flood('5')).toMatchObject({ ok: false });
    expect(app.flood(100)).toEqual({ ok: true });
  });
});
