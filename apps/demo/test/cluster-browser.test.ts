/**
 * The cluster demo's page in Debian's Chromium (playwright-core, no downloaded browser) against a
 * real cluster: three node processes, a real nats-server (started by the launcher), the
 * observer, the web server. Kills node-3 (the ledger's node) from the page and watches it come
 * back with its ledger intact. Writes test-output/cluster-page.png and cluster-page-recovered.png.
 *
 * Skips like web-browser.test.ts (TROUPE_SKIP_BROWSER=1; no Chromium: a failing test says what
 * to run) and like the cluster tests (no nats-server: skipped, except in CI where it fails).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActorTreeNode } from '@troupe/runtime';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS as ARGS, ensureChromium } from '../../../test/support/ensure-chromium.js';
import { natsUnavailable } from '../../../test/support/nats-server.js';
import { type ClusterDemo, type NodeView, startClusterDemo } from '../src/cluster/launcher.js';
import type { NodeState } from '../src/cluster/node-state.js';
import type { Role } from '../src/cluster/roles.js';
import { type ClusterWeb, startClusterWeb } from '../src/cluster/web.js';

const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-output');
const SCREENSHOT = resolve(OUT, 'cluster-page.png');
const RECOVERED = resolve(OUT, 'cluster-page-recovered.png');
/** Node processes take 2–4 s to start here; every wait has room for several of them. */
const BOUND = { timeout: 30_000, intervals: [100, 250, 500] };

const SKIP = process.env.TROUPE_SKIP_BROWSER === '1';
const chromium_ = SKIP ? undefined : await ensureChromium();
const CHROMIUM = chromium_?.ok === true ? chromium_.path : '';
const NO_NATS = natsUnavailable();

it.skipIf(SKIP)('has a Chromium to drive', () => {
  if (chromium_?.ok === false) throw new Error(chromium_.message);
});
if (NO_NATS !== null) console.warn(`skipping the cluster page in Chromium: ${NO_NATS}`);

describe.skipIf(SKIP || chromium_?.ok !== true || NO_NATS !== null)('the cluster page in Chromium', () => {
  let demo: ClusterDemo | undefined;
  let web: ClusterWeb | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    // A 3 s pause before a killed node starts again: long enough for the page to show it down.
    demo = await startClusterDemo({ nodes: 3, restartDelayMs: 3000 }, () => {});
    web = await startClusterWeb({ demo, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(web.url);
  }, 30_000);

  // Always, even after a failure: no node process may outlive the test.
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await web?.close();
      const dir = demo?.dataDir;
      await demo?.stop(2000);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  const field = (node: string, name: string) =>
    page.locator(`[data-node="${node}"] [data-field="${name}"]`).first().textContent({ timeout: 5000 });
  const count = async (node: string, name: string) => Number((await field(node, name))?.replace(/,/g, ''));
  const ledger = async () => Number((await page.locator('#ledger').textContent())?.replace(/,/g, ''));
  const events = async () => (await page.locator('#events').textContent()) ?? '';

  it('kill node-3 from the page: it goes down, the observer sees it, it comes back with its ledger', async () => {
    // Three nodes up, each with its process and roles, and the ledger counting.
    for (const node of ['node-1', 'node-2', 'node-3'])
      await expect.poll(() => field(node, 'status'), BOUND).toBe('up');
    await expect.poll(() => page.locator('#nodes-up').textContent(), BOUND).toBe('3 / 3');
    expect(await field('node-1', 'roles')).toBe('source');
    expect(await field('node-2', 'roles')).toBe('pricing');
    expect(await field('node-3', 'roles')).toBe('execution');
    expect(await field('node-3', 'starts')).toBe('1');
    await expect.poll(ledger, BOUND).toBeGreaterThan(0);
    await expect.poll(() => count('node-3', 'ledger'), BOUND).toBeGreaterThan(0);
    // Each card shows its tree (workers with their buttons) and its links to the others.
    await expect
      .poll(
        () =>
          page
            .locator('[data-node="node-2"] tr[data-path="/user/flow/oracle"] button[data-action="crash"]')
            .count(),
        BOUND,
      )
      .toBe(1);
    expect(await page.locator('[data-node="node-3"] tr[data-path="/user/flow/ledger"]').count()).toBe(1);
    expect(await page.locator('[data-node="node-3"] tr[data-path="/user/flow/ledger"] button').count()).toBe(
      0,
    );
    await expect
      .poll(
        () =>
          page
            .locator('[data-node="node-1"] tr[data-peer="node-3"] [data-field="peer-status"]')
            .textContent(),
        BOUND,
      )
      .toBe('up');
    expect(await page.locator('#flood').getAttribute('data-on')).toBe('node-1');
    // The last traces: one block from node-1, through node-2, to the ledger on node-3.
    await expect.poll(() => page.locator('#traces [data-trace]').count(), BOUND).toBeGreaterThan(0);
    const trace = page.locator('#traces [data-trace]').first();
    expect(await trace.locator('li[data-span-node="node-1"][data-depth="0"]').count()).toBe(1);
    expect(await trace.locator('li[data-span-node="node-2"]').count()).toBeGreaterThan(0);
    expect(await trace.locator('li', { hasText: '/user/flow/ledger' }).count()).toBe(1);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    const pidBefore = await field('node-3', 'pid');
    const before = await ledger();
    await page.locator('button[data-kill="node-3"]').click();
    await expect.poll(() => page.getByTestId('action-result').textContent(), BOUND).toBe('kill node-3: ok');
    await expect.poll(() => field('node-3', 'status'), BOUND).toBe('down');
    expect(await page.locator('button[data-kill="node-3"]').isDisabled()).toBe(true);
    await expect.poll(events, BOUND).toContain('node-3 exited (SIGKILL)');
    await expect.poll(events, BOUND).toContain('observer: NodeDown node-3');
    await expect
      .poll(events, BOUND)
      .toMatch(/observer: Terminated\(nodeDown\) for the ledger \/user\/flow\/ledger on node-3/);
    // While it is down the page keeps the last count it saw.
    expect(await ledger()).toBeGreaterThanOrEqual(before);

    await expect.poll(() => field('node-3', 'status'), BOUND).toBe('up');
    await expect.poll(() => field('node-3', 'starts'), BOUND).toBe('2');
    await expect.poll(() => field('node-3', 'pid'), BOUND).not.toBe(pidBefore);
    await expect.poll(events, BOUND).toMatch(/node-3 is up \(pid \d+, start 2\)/);
    // The new process recovered every entry the page had seen, then the ledger grows again.
    await expect.poll(() => count('node-3', 'recovered'), BOUND).toBeGreaterThanOrEqual(before);
    await expect.poll(ledger, BOUND).toBeGreaterThanOrEqual(before);
    const recovered = await count('node-3', 'recovered');
    await expect.poll(ledger, BOUND).toBeGreaterThan(recovered);
    await page.screenshot({ path: RECOVERED, fullPage: true });
    expect(existsSync(RECOVERED)).toBe(true);
    expect(problems).toEqual([]);
  }, 120_000);

  it('flood and crash buttons reach the nodes', async () => {
    const published = await count('node-1', 'published');
    await page.locator('#flood').click();
    await expect
      .poll(() => page.getByTestId('action-result').textContent(), BOUND)
      .toBe('flood 500 blocks on node-1: ok');
    // The flood counts as published on node-1 (500 at once, besides the source's own blocks).
    await expect.poll(() => count('node-1', 'published'), BOUND).toBeGreaterThanOrEqual(published + 500);
    const oracle = page.locator('[data-node="node-2"] tr[data-path="/user/flow/oracle"]');
    await oracle.locator('button[data-action="crash"]').click();
    await expect
      .poll(() => page.getByTestId('action-result').textContent(), BOUND)
      .toBe('crash /user/flow/oracle on node-2: ok');
    await expect.poll(() => oracle.locator('td').nth(3).textContent(), BOUND).toBe('1');
    expect(problems).toEqual([]);
  }, 60_000);
});

// The page over a stand-in demo (no processes, no NATS): what it shows for states a real
// cluster reaches only rarely, and that data from the nodes is text, never markup.
describe.skipIf(SKIP || chromium_?.ok !== true)('the cluster page over a stand-in demo', () => {
  const HOSTILE = '<img src=x onerror="window.__pwned=1">';
  let execution: { status: NodeView['status']; ledger: number | undefined } = { status: 'up', ledger: 42 };
  let web: ClusterWeb | undefined;
  let browser: Browser | undefined;
  const problems: string[] = [];

  const actor = (path: string, children: ActorTreeNode[] = []): ActorTreeNode => ({
    path,
    name: path.split('/').pop() as string,
    id: path,
    kind: children.length > 0 ? 'supervisor' : 'worker',
    status: 'running',
    received: 0,
    processed: 7,
    failed: 0,
    unhandled: 0,
    dropped: 0,
    evicted: 0,
    cancelled: 0,
    deadLettered: 0,
    inFlight: 0,
    mailboxDepth: 60,
    mailboxCapacity: 64,
    mailboxOverflow: 'reject' as ActorTreeNode['mailboxOverflow'],
    restarts: 2,
    children,
  });
  const peer = (node: string, status: 'up' | 'down' | 'left') => ({
    node,
    status,
    incarnation: 'x',
    sent: 1,
    undeliverable: 0,
    received: 2,
    delivered: 2,
    deadLettered: 3,
    lost: 4,
    acknowledged: 1,
    resent: 0,
    expired: 0,
    duplicates: 0,
  });
  const state = (node: string, roles: Role[], ledger = 0): NodeState => ({
    node,
    pid: 100,
    roles,
    uptimeS: 3725,
    counters: {
      blocksPublished: 1000,
      blocksDelivered: 0,
      lagged: 0,
      pricedPublished: 0,
      opportunitiesPublished: 0,
      pricedDelivered: 0,
      redelivered: 0,
      tallied: 0,
      executed: 0,
      recovered: 0,
      ledger,
    },
    deadLetters: { [HOSTILE]: 5 },
    cluster: {
      node,
      incarnation: 'x',
      connected: true,
      peers: [peer('node-2', 'left'), peer('node-3', 'up')],
      invalidFrames: 0,
      staleFrames: 0,
    },
    tree: actor('/user', [actor(`/user/${HOSTILE}`)]),
    workers: [`/user/${HOSTILE}`],
    events: [],
  });
  const demo: ClusterDemo = {
    cluster: 'stub',
    natsUrl: 'nats://127.0.0.1:1',
    dataDir: '/nonexistent',
    traces: () => [],
    nodes: () => [
      {
        name: 'node-1',
        roles: ['source'],
        status: 'up',
        pid: 100,
        starts: 1,
        port: 1,
        state: state('node-1', ['source']),
      },
      {
        name: 'node-2',
        roles: ['pricing'],
        status: 'down',
        pid: undefined,
        starts: 1,
        port: 2,
        state: undefined,
      },
      {
        name: 'node-3',
        roles: ['execution'],
        status: execution.status,
        pid: execution.status === 'up' ? 300 : undefined,
        starts: 1,
        port: 3,
        state: execution.ledger === undefined ? undefined : state('node-3', ['execution'], execution.ledger),
      },
    ],
    events: () => [{ at: Date.now(), text: HOSTILE }],
    kill: () => false,
    control: async () => ({ status: 404, body: { error: HOSTILE } }),
    metrics: async () => undefined,
    stop: async () => ({ states: [], opportunities: 0 }),
  };

  beforeAll(async () => {
    web = await startClusterWeb({ demo, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('shows what peers see, keeps the last ledger count while its node is down, and inserts data as text', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    try {
      await page.goto((web as ClusterWeb).url);
      const field = (node: string, name: string) =>
        page.locator(`[data-node="${node}"] [data-field="${name}"]`).first().textContent({ timeout: 5000 });
      await expect.poll(() => page.locator('#ledger').textContent(), BOUND).toBe('42');
      // node-2 is down to the launcher; node-1, its peer, says it left.
      expect(await field('node-2', 'status')).toBe('down');
      expect(await field('node-2', 'peer-view')).toBe('peers see: left');
      expect(await page.locator('[data-node="node-2"] [data-field="peer-view"]').isVisible()).toBe(true);
      expect(await page.locator('[data-node="node-3"] [data-field="peer-view"]').isVisible()).toBe(false);
      expect(await page.locator('button[data-kill="node-2"]').isDisabled()).toBe(true);
      expect(await field('node-1', 'uptime')).toBe('1 h 2 min');
      expect(await field('node-1', 'published')).toBe('1,000');
      expect(await page.locator('[data-node="node-1"] tr[data-peer="node-2"]').textContent()).toBe(
        'node-2left1234',
      );
      // Hostile names, reasons and events show as text.
      expect(await field('node-1', 'dead-letters')).toBe(`${HOSTILE} 5`);
      await expect.poll(() => page.locator('#events').textContent(), BOUND).toContain(HOSTILE);
      const row = page.locator('[data-node="node-1"] [data-field="tree"] tbody tr').nth(1);
      expect(await row.getAttribute('data-path')).toBe(`/user/${HOSTILE}`);
      expect(await row.locator('td').first().textContent()).toBe(HOSTILE);
      expect(await row.locator('td').nth(2).textContent()).toBe('60 / 64');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      // A button's error comes back as text too.
      await page.locator(`[data-node="node-1"] button[data-action="crash"]`).click();
      await expect
        .poll(() => page.getByTestId('action-result').textContent(), BOUND)
        .toBe(`crash /user/${HOSTILE} on node-1: ${HOSTILE}`);
      // Chromium logs the 404 itself; that one is expected, nothing else.
      expect(problems.splice(0)).toEqual([
        'console error: Failed to load resource: the server responded with a status of 404 (Not Found)',
      ]);
      // The execution node goes down: the page keeps the last count it saw, and says so.
      execution = { status: 'down', ledger: undefined };
      await expect.poll(() => field('node-3', 'status'), BOUND).toBe('down');
      expect(await page.locator('#ledger').textContent()).toBe('42');
      expect(await page.getByTestId('ledger-note').textContent()).toMatch(/node-3 is down: last count seen/);
      expect(await field('node-3', 'ledger')).toBe('-');
      // Fits 760 px without horizontal scrolling of the page.
      await page.setViewportSize({ width: 760, height: 900 });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(760);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
