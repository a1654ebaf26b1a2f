/**
 * The live page in Debian's Chromium (driven by playwright-core; no downloaded browser), against
 * the real server, the real dashboard and the real clock. When Chromium is missing,
 * test/support/ensure-chromium.ts installs it (as root, with apt-get) or says what to run; set
 * TROUPE_SKIP_BROWSER=1 to skip. Writes test-output/demo-page.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActorSystem } from '@troupe/runtime';
import { logSink } from '@troupe/runtime/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS as ARGS, ensureChromium } from '../../../test/support/ensure-chromium.js';
import { type DashboardApp, startDashboard } from '../src/dashboard/app.js';
import { startWebServer, type WebServer } from '../src/web/server.js';

const SCREENSHOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-output/demo-page.png');
const DASHBOARD = '/user/metrics-app/subscribers/dashboard';
const LOGGER = '/user/metrics-app/subscribers/logger';
const ALERTER = '/user/metrics-app/subscribers/alerter';

const SKIP = process.env.TROUPE_SKIP_BROWSER === '1';
// Installs Debian's Chromium when it is missing and we can (root + apt-get); else says what to run.
const chromium_ = SKIP ? undefined : await ensureChromium();
const CHROMIUM = chromium_?.ok === true ? chromium_.path : '';

// Without Chromium this test fails (with what to run), and the page tests are skipped.
it.skipIf(SKIP)('has a Chromium to drive', () => {
  if (chromium_?.ok === false) throw new Error(chromium_.message);
});

describe.skipIf(SKIP || chromium_?.ok !== true)('the live page in Chromium', () => {
  let system: ActorSystem;
  let app: DashboardApp;
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    system = ActorSystem.start({ name: 'web-browser-test', logger: logSink('warn').logger });
    // Threshold 0: the first error raises an alert, so the page has one to show within seconds.
    app = startDashboard(system, { print: () => {}, metricLog: logSink('silent').logger, alertThreshold: 0 });
    server = await startWebServer({ system, app, port: 0, log: logSink('silent').logger });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url);
  }, 20_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await system?.shutdown({ timeoutMs: 2000 });
  });

  // Script errors and CSP violations show up here; fail the test that caused them.
  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  const text = (testId: string) => page.getByTestId(testId).textContent({ timeout: 5000 });
  const number = async (testId: string) => Number((await text(testId))?.replace(/[^\d.]/g, ''));

  it('renders the supervision tree with every worker and its controls', async () => {
    await expect.poll(() => text('status')).toContain('live');
    for (const path of app.workers) {
      await page.getByTestId(`node-${path}`).waitFor();
      expect(await page.getByTestId(`crash-${path}`).getAttribute('aria-label')).toBe(`Crash ${path}`);
    }
    expect(await page.getByTestId(`slow-${DASHBOARD}`).textContent()).toBe('make slow');
    expect(await text(`status-${DASHBOARD}`)).toBe('running');
    expect(await text(`restarts-${DASHBOARD}`)).toBe('0');
    await expect.poll(() => number(`delivered-${DASHBOARD}`)).toBeGreaterThan(0);
  });

  it('shows live numbers: the first summary, then a flood of requests', async () => {
    await expect.poll(() => text('requests-latest'), { timeout: 5000 }).toMatch(/^\d+$/);
    expect(await number('requests-latest')).toBeLessThan(100);
    await page.getByTestId('flood').click();
    await expect.poll(() => text('action-result')).toBe('flood 5000 events: ok');
    // The next summary counts the flood (all of it, or what the dashboard's mailbox held).
    await expect.poll(() => number('requests-latest'), { timeout: 5000 }).toBeGreaterThan(500);
  });

  it('crash restarts the dashboard actor, and the page shows the restart', async () => {
    await page.getByTestId(`crash-${DASHBOARD}`).click();
    await expect.poll(() => text(`restarts-${DASHBOARD}`)).toBe('1');
    await expect.poll(() => text(`status-${DASHBOARD}`)).toBe('running');
    expect(await text('action-result')).toBe(`crash ${DASHBOARD}: ok`);
  });

  it('make slow toggles a subscriber’s delay', async () => {
    const button = page.getByTestId(`slow-${LOGGER}`);
    await button.click();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('true');
    expect(await button.textContent()).toBe('reset speed');
    await button.click();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('false');
    expect(await text('action-result')).toBe(`reset speed of ${LOGGER}: ok`);
  });

  it('labels the guardian and the keeper as what they are, not as workers', async () => {
    expect(await text('kind-/user')).toBe('guardian');
    expect(await text('kind-/user/keeper')).toBe('keeper');
    expect(await text('kind-/user/metrics-app/metrics')).toBe('topic');
    expect(await text('kind-/user/metrics-app')).toBe('supervisor');
    for (const path of app.workers) expect(await text(`kind-${path}`)).toBe('worker');
    expect(await page.getByTestId('crash-/user/keeper').count()).toBe(0);
  });

  it('shows the Alerter’s state and its alerts', async () => {
    await expect.poll(() => text('alerter-state'), { timeout: 20_000 }).toBe('alerting');
    expect(await text(`state-${ALERTER}`)).toBe('alerting');
    await expect
      .poll(() => text('alerts'), { timeout: 5000 })
      .toMatch(/ALERT error rate \d+\/min \(threshold 0\)/);
  }, 30_000);

  it('fits 760 px: nothing overflows the page horizontally', async () => {
    const narrow = await browser.newPage({ viewport: { width: 760, height: 900 } });
    try {
      await narrow.goto(server.url);
      await narrow.getByTestId(`node-${DASHBOARD}`).waitFor();
      await expect.poll(() => narrow.getByTestId('requests-latest').textContent()).toMatch(/^\d/);
      // Runs in the page (the test's tsconfig has no DOM types, hence the string).
      const width = await narrow.evaluate('document.documentElement.scrollWidth');
      expect(width).toBeLessThanOrEqual(760);
      // Nor does the tree need scrolling: every worker's crash button is in view.
      const tree = (await narrow.evaluate(
        "(() => { const el = document.querySelector('.scroll'); return { scroll: el.scrollWidth, client: el.clientWidth }; })()",
      )) as { scroll: number; client: number };
      expect(tree.scroll).toBeLessThanOrEqual(tree.client);
      for (const path of app.workers)
        expect(await narrow.getByTestId(`crash-${path}`).isVisible()).toBe(true);
    } finally {
      await narrow.close();
    }
  });

  it('draws the charts and takes a screenshot (no console errors: see afterEach)', async () => {
    // A few summaries, so that the screenshot shows lines (one point per second).
    const points = async () =>
      ((await page.getByTestId('requests-chart').locator('polyline').getAttribute('points')) ?? '').split(' ')
        .length;
    await expect.poll(points, { timeout: 8000 }).toBeGreaterThanOrEqual(5);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  // Last: it takes the app down.
  it('shows a banner while the app is down, and hides it once it is back', async () => {
    expect(await page.getByTestId('health').isHidden()).toBe(true);
    // Crash workers round-robin, letting the actors run between batches, until the app gives up.
    for (let i = 0; i < 3000 && app.health().state === 'running'; i++) {
      app.crash(app.workers[i % app.workers.length]);
      if (i % 25 === 24) await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => app.health().state, { timeout: 5000 }).toBe('restarting');
    await expect.poll(() => page.getByTestId('health').isVisible(), { timeout: 5000 }).toBe(true);
    expect(await text('health')).toMatch(/^The metrics app is down: its supervisor gave up/);
    await expect.poll(() => page.getByTestId('health').isHidden(), { timeout: 10_000 }).toBe(true);
  }, 20_000);
});
