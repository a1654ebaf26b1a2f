/**
 * The cluster demo's web server against a real cluster: two node processes, a real nats-server
 * (started by the launcher), the observer. No browser (cluster-browser.test.ts drives the page).
 * Skipped when nats-server is missing (fails in CI). Every wait is bounded polling.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUnavailable } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { type ClusterDemo, startClusterDemo } from '../src/cluster/launcher.js';
import { type ClusterWeb, type ClusterWebState, startClusterWeb } from '../src/cluster/web.js';

const NO_NATS = natsUnavailable();
if (NO_NATS !== null) console.warn(`skipping the cluster web server tests: ${NO_NATS}`);

describe.skipIf(NO_NATS !== null)('the cluster demo’s web server', () => {
  let demo: ClusterDemo | undefined;
  let web: ClusterWeb | undefined;

  const get = async (path: string) => {
    const res = await fetch(`${(web as ClusterWeb).url}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text(), res };
  };
  const state = async () => JSON.parse((await get('/api/state')).text) as ClusterWebState;
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${(web as ClusterWeb).url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const allUp = async () => {
    const s = await state();
    return s.nodes.every((n) => n.status === 'up' && n.state !== undefined);
  };

  beforeAll(async () => {
    demo = await startClusterDemo({ nodes: 2, restartDelayMs: 300 }, () => {});
    web = await startClusterWeb({ demo, port: 0 });
    await waitFor(allUp, 'both nodes up and reporting', 30_000);
  }, 45_000);

  afterAll(async () => {
    await web?.close();
    const dir = demo?.dataDir;
    await demo?.stop(2000);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('serves the page with its CSP, on loopback', async () => {
    expect(web?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('data-testid="ledger"');
    const csp = page.res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page.text).not.toMatch(/<script src|<link rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/);
  });

  it('/api/state has the cluster, every node with its state, and the events', async () => {
    const s = await state();
    expect(s.cluster).toBe(demo?.cluster);
    expect(s.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(s.nodes.map((n) => [n.name, n.status, n.starts])).toEqual([
      ['node-1', 'up', 1],
      ['node-2', 'up', 1],
    ]);
    const [one, two] = s.nodes as [ClusterWebState['nodes'][0], ClusterWebState['nodes'][0]];
    // Two nodes: node-1 the source and execution (roles wrap around), node-2 the pricing.
    expect(one.roles).toEqual(['source', 'execution']);
    expect(two.roles).toEqual(['pricing']);
    expect(one.pid).toBeGreaterThan(0);
    expect(one.state?.pid).toBe(one.pid);
    expect(one.state?.cluster.peers.map((p) => p.node).sort()).toEqual(['launcher', 'node-2']);
    expect(two.state?.workers).toEqual(['/user/flow/decoder', '/user/flow/oracle']);
    expect(two.state?.tree.path).toBe('/user');
    // The tree is trimmed to what the page shows.
    expect(Object.keys(two.state?.tree ?? {}).sort()).toEqual(
      [
        'children',
        'kind',
        'mailboxCapacity',
        'mailboxDepth',
        'name',
        'path',
        'processed',
        'restarts',
        'status',
      ].sort(),
    );
    expect(s.events.map((e) => e.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^node-1 is up/), 'observer: NodeUp node-2']),
    );
    // The ledger counts (the flow runs end to end).
    await waitFor(
      async () => ((await state()).nodes[0]?.state?.counters.ledger ?? 0) > 0,
      'ledger > 0',
      20_000,
    );
    expect((await get('/api/state')).text.length).toBeLessThan(64 * 1024);
  }, 30_000);

  it('/metrics is one valid exposition of both nodes', async () => {
    const m = await get('/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const helps = m.text.split('\n').filter((l) => l.startsWith('# HELP '));
    const names = helps.map((l) => l.split(' ')[2]);
    expect(names.length).toBeGreaterThan(10);
    expect(new Set(names).size).toBe(names.length);
    const types = m.text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    expect(m.text).toMatch(/^troupe_peer_messages_sent_total\{[^}]*node="node-1"/m);
    expect(m.text).toMatch(/^troupe_peer_messages_sent_total\{[^}]*node="node-2"/m);
    expect(m.text).toMatch(/^troupe_ledger_entries\{node="node-1"\} [1-9]/m);
    // Each family's samples follow its own HELP/TYPE, not another's.
    let family = '';
    for (const line of m.text.split('\n')) {
      const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line);
      if (meta !== null) family = meta[1] as string;
      else if (line !== '') expect(line.startsWith(family)).toBe(true);
    }
  });

  it('/metrics/<node> is that node’s alone; unknown nodes are 404', async () => {
    const m = await get('/metrics/node-1');
    expect(m.status).toBe(200);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(m.text).toContain('node="node-1"');
    expect(m.text).not.toContain('node="node-2"');
    const unknown = await get('/metrics/node-9');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ error: 'no node node-9' });
    expect((await get('/metrics/%E0%A4%A')).status).toBe(404);
  });

  it('refuses bad requests with JSON errors', async () => {
    const cases: [string, string, Record<string, string>, number, RegExp][] = [
      ['/api/kill', '{"node":"node-9"}', {}, 404, /no node node-9/],
      ['/api/kill', '{"node":', {}, 400, /malformed JSON/],
      ['/api/kill', '[1]', {}, 400, /JSON object/],
      ['/api/kill', '{}', {}, 400, /node must be/],
      ['/api/kill', '{"node":"node-1"}', { 'content-type': 'text/plain' }, 415, /application\/json/],
      ['/api/kill', '{"node":"node-1"}', { origin: 'http://evil.example' }, 403, /cross-origin/],
      [
        '/api/control',
        '{"node":"node-2","action":"explode","path":"/user/flow/oracle"}',
        {},
        400,
        /action must be/,
      ],
      ['/api/control', '{"node":"node-2","action":"slow","path":"/user/flow/oracle"}', {}, 400, /ms must be/],
      ['/api/control', '{"node":"node-2","action":"crash"}', {}, 400, /path must be/],
      ['/api/control', '{"node":"node-1","action":"flood","count":0}', {}, 400, /count must be/],
      ['/api/control', '{"node":"node-9","action":"flood","count":5}', {}, 404, /no node node-9/],
      // Shape is fine, but /user/flow/source is not a worker of node-1: the node's own 404.
      [
        '/api/control',
        '{"node":"node-1","action":"crash","path":"/user/flow/source"}',
        {},
        404,
        /not a worker of node-1/,
      ],
    ];
    for (const [route, body, headers, status, error] of cases) {
      const r = await post(route, body, headers);
      expect([route, body, r.status]).toEqual([route, body, status]);
      expect(r.json.error).toMatch(error);
    }
    const big = await post('/api/control', JSON.stringify({ node: 'node-1', pad: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    expect((await get('/nope')).status).toBe(404);
    const wrong = await fetch(`${web?.url}/api/kill`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    // DNS rebinding: a foreign Host is refused even on GET.
    const { request } = await import('node:http');
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${web?.url}/api/state`);
      request(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'evil.example' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(403);
    // Still serving after all that.
    expect((await get('/api/state')).status).toBe(200);
  });

  it('crash and slow reach the node', async () => {
    const crash = await post('/api/control', '{"node":"node-2","action":"crash","path":"/user/flow/oracle"}');
    expect(crash).toEqual({ status: 200, json: { ok: true } });
    const restarts = async () => {
      const flow = (await state()).nodes[1]?.state?.tree.children.find((c) => c.name === 'flow');
      return flow?.children.find((c) => c.name === 'oracle')?.restarts ?? 0;
    };
    await waitFor(async () => (await restarts()) === 1, 'the oracle restarted once', 10_000);
    const slow = await post(
      '/api/control',
      '{"node":"node-2","action":"slow","path":"/user/flow/oracle","ms":0}',
    );
    expect(slow).toEqual({ status: 200, json: { ok: true } });
  }, 20_000);

  it('POST /api/kill: the node goes down and comes back as a second process', async () => {
    const before = (await state()).nodes[1];
    expect(before?.status).toBe('up');
    expect(await post('/api/kill', '{"node":"node-2"}')).toEqual({ status: 200, json: { ok: true } });
    // Down at once (the exit is seen within a few ms); a second kill meanwhile is a 409.
    await waitFor(async () => (await state()).nodes[1]?.status !== 'up', 'node-2 not up', 10_000);
    const again = await post('/api/kill', '{"node":"node-2"}');
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/^node-2 is (down|starting), not up/);
    await waitFor(
      async () => {
        const n = (await state()).nodes[1];
        return n?.status === 'up' && n.starts === 2 && n.state !== undefined;
      },
      'node-2 up again, as its second process',
      30_000,
    );
    const after = (await state()).nodes[1];
    expect(after?.pid).not.toBe(before?.pid);
    const texts = (await state()).events.map((e) => e.text);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^kill node-2: SIGKILL to pid \d+$/),
        'node-2 exited (SIGKILL); starting it again',
        expect.stringMatching(/^node-2 is up \(pid \d+, start 2\)$/),
      ]),
    );
  }, 45_000);
});

// The same server over a stand-in demo (no processes): what it does when the demo misbehaves.
describe('the cluster web server over a misbehaving demo', () => {
  let web: ClusterWeb;
  let failMetrics = true;
  const stub: ClusterDemo = {
    cluster: 'stub',
    natsUrl: 'nats://127.0.0.1:1',
    dataDir: '/nonexistent',
    traces: () => [],
    nodes: () => [
      { name: 'node-1', roles: ['source'], status: 'up', pid: 1, starts: 1, port: 1, state: undefined },
      {
        name: 'node-2',
        roles: ['pricing'],
        status: 'down',
        pid: undefined,
        starts: 3,
        port: 2,
        state: undefined,
      },
    ],
    events: () => [],
    kill: () => false,
    control: async () => ({ status: 502, body: 'the node did not answer' }),
    metrics: async (name) => {
      if (failMetrics) throw new Error(`metrics of ${name} broke`);
      return undefined;
    },
    stop: async () => ({ states: [], opportunities: 0 }),
  };
  const post = async (path: string, body: string | ReadableStream<Uint8Array>) => {
    const res = await fetch(`${web.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...(typeof body === 'string' ? {} : { duplex: 'half' }),
    } as RequestInit);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    web = await startClusterWeb({ demo: stub, port: 0 });
  });
  afterAll(() => web.close());

  it('a throwing handler answers 500 and the server goes on', async () => {
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      const broken = await fetch(`${web.url}/metrics/node-1`);
      expect(broken.status).toBe(500);
      expect(await broken.json()).toEqual({ error: 'internal error' });
    } finally {
      process.stderr.write = stderr;
    }
    expect((await fetch(`${web.url}/api/state`)).status).toBe(200);
    failMetrics = false;
    const none = await fetch(`${web.url}/metrics`);
    expect([none.status, await none.json()]).toEqual([503, { error: 'no node answered; try again shortly' }]);
    expect((await fetch(`${web.url}/metrics/node-2`)).status).toBe(503);
  });

  it('kill of a node that is not up is 409; a node’s non-JSON answer is wrapped', async () => {
    expect(await post('/api/kill', '{"node":"node-2"}')).toEqual({
      status: 409,
      json: { error: 'node-2 is down, not up; try again shortly' },
    });
    expect(await post('/api/control', '{"node":"node-1","action":"flood","count":5}')).toEqual({
      status: 502,
      json: { error: 'the node did not answer' },
    });
  });

  it('a streamed body past 4 KiB (no Content-Length) is 413', async () => {
    const chunk = new TextEncoder().encode(`{"node":"${'x'.repeat(1000)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const r = await post('/api/kill', body).catch((error: unknown) => ({
      status: 0,
      json: { error: String(error) },
    }));
    expect(r.status).toBe(413);
  });

  it('refuses to listen on a bad port', async () => {
    await expect(startClusterWeb({ demo: stub, port: 70_000 })).rejects.toThrow(RangeError);
  });
});
