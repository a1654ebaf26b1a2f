/**
 * The cluster demo's launcher (`pnpm demo cluster`): starts a local nats-server (or uses
 * `--nats`), then one node process per core (`--nodes`), all running `node.ts`, joined as one
 * cluster; supervises them (a node process that dies is started again, and its persistent
 * actors recover); joins the cluster itself as the observer `launcher`, which watches the
 * ledger (so a killed node shows as `Terminated(nodeDown)`); polls every node's `/state`; and
 * prints a per-node summary every second and the final accounting at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterNode, durableTopic, joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem, receive, type Terminated } from '@troupe/runtime';
import { LEDGER, type LedgerCommand, type Priced, SPREAD_THRESHOLD } from './flow.js';
import { freePort, type LocalNats, startLocalNats } from './nats.js';
import type { NodeConfig, NodeEvent, NodeState } from './node-state.js';
import { nodeName, type Role, rolesOf } from './roles.js';
import { assembleTraces, type SpanView, type TraceView } from './tracing.js';

export interface ClusterDemoOptions {
  readonly nodes: number;
  /** A NATS server to use (with JetStream); default: start a local one. */
  readonly nats?: string;
  readonly dataDir?: string;
  readonly blockMs?: number;
  readonly executeMs?: number;
  readonly logLevel?: string;
  readonly otlp?: string;
  /** Wait this long before starting a node process that died again (default 1000 ms). */
  readonly restartDelayMs?: number;
}

export type NodeStatus = 'starting' | 'up' | 'down' | 'stopped';

export interface NodeView {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly status: NodeStatus;
  readonly pid: number | undefined;
  /** Process starts (1 for the first). */
  readonly starts: number;
  readonly port: number;
  /** The last `/state` the node answered, while it runs. */
  readonly state: NodeState | undefined;
}

export interface ClusterDemo {
  readonly cluster: string;
  readonly natsUrl: string;
  readonly dataDir: string;
  nodes(): NodeView[];
  /** Launcher and observer events (process exits and starts, NodeUp/NodeDown, Terminated), newest last (a copy). */
  events(): readonly NodeEvent[];
  /**
   * The last traces that went through the whole pipeline (a block, from its source to the
   * ledger), assembled from every node's spans every 2 s, newest first.
   */
  traces(): readonly TraceView[];
  /** SIGKILLs a node's process (the launcher starts it again). */
  kill(name: string): boolean;
  /** Forwards a control request (crash, slow, flood) to a node. */
  control(name: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }>;
  /** A node's Prometheus text, or undefined when it does not answer. */
  metrics(name: string): Promise<string | undefined>;
  /**
   * Stops the source, waits (at most `drainMs`, default 10 s) until the ledger has every
   * opportunity priced, then stops every node gracefully. Resolves with each node's final state
   * (node order) and the opportunities priced in the run, read back from the priced stream in
   * JetStream (exact, across every process that was killed).
   */
  stop(drainMs?: number): Promise<{ states: NodeState[]; opportunities: number }>;
}

const NODE_SCRIPT = fileURLToPath(new URL('./node.ts', import.meta.url));

interface Proc {
  readonly name: string;
  readonly index: number;
  readonly roles: readonly Role[];
  readonly port: number;
  status: NodeStatus;
  child: ChildProcess | undefined;
  starts: number;
  state: NodeState | undefined;
  final: NodeState | undefined;
  restartTimer: NodeJS.Timeout | undefined;
}

export async function startClusterDemo(
  options: ClusterDemoOptions,
  print: (line: string) => void,
): Promise<ClusterDemo> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'troupe-cluster-'));
  mkdirSync(dataDir, { recursive: true });
  const local: LocalNats | undefined =
    options.nats === undefined ? await startLocalNats(join(dataDir, 'nats')) : undefined;
  const natsUrl = options.nats ?? (local as LocalNats).url;
  const cluster = `demo${process.pid}`;
  const events: NodeEvent[] = [];
  const note = (text: string) => {
    events.push({ at: Date.now(), text });
    if (events.length > 100) events.shift();
    print(`[launcher] ${text}`);
  };
  let stopping = false;

  const procs: Proc[] = [];
  for (let index = 0; index < options.nodes; index++) {
    procs.push({
      name: nodeName(index),
      index,
      roles: rolesOf(index, options.nodes),
      port: await freePort(),
      status: 'starting',
      child: undefined,
      starts: 0,
      state: undefined,
      final: undefined,
      restartTimer: undefined,
    });
  }

  const launch = (proc: Proc) => {
    const config: NodeConfig = {
      index: proc.index,
      count: options.nodes,
      nats: natsUrl,
      cluster,
      port: proc.port,
      dataDir,
      blockMs: options.blockMs ?? 20,
      executeMs: options.executeMs ?? 20,
      logLevel: options.logLevel ?? 'warn',
      ...(options.otlp === undefined ? {} : { otlp: options.otlp }),
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@troupe/source', NODE_SCRIPT, JSON.stringify(config)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.child = child;
    proc.starts++;
    proc.status = 'starting';
    proc.state = undefined;
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('ready ')) {
          proc.status = 'up';
          note(`${proc.name} is up (pid ${child.pid}, start ${proc.starts})`);
        } else if (line.startsWith('final ')) {
          try {
            proc.final = JSON.parse(line.slice('final '.length)) as NodeState;
          } catch {
            // A line cut short by the process ending: the last polled state stands in.
          }
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') print(`[${proc.name}] ${line}`);
    });
    child.once('exit', (code, signal) => {
      if (proc.child === child) proc.child = undefined;
      if (stopping) {
        proc.status = 'stopped';
        return;
      }
      proc.status = 'down';
      note(`${proc.name} exited (${signal ?? `code ${code}`}); starting it again`);
      proc.restartTimer = setTimeout(() => {
        proc.restartTimer = undefined;
        if (!stopping) launch(proc);
      }, options.restartDelayMs ?? 1000);
    });
  };
  for (const proc of procs) launch(proc);
  // Should the launcher itself end abruptly (an uncaught error, process.exit), take the node
  // processes and the local nats-server with it: no orphans.
  const killAll = () => {
    for (const proc of procs) proc.child?.kill('SIGKILL');
    local?.kill();
  };
  process.once('exit', killAll);

  // The observer: a member of the cluster that watches the ledger wherever it runs.
  const observerSystem = ActorSystem.start({ name: 'launcher' });
  const observer: ClusterNode = await joinCluster(observerSystem, {
    servers: natsUrl,
    cluster,
    node: 'launcher',
  });
  observerSystem.events.subscribe((e) => {
    if (e.type === 'NodeUp' || e.type === 'NodeDown' || e.type === 'NodeLeft')
      note(`observer: ${e.type} ${e.node}`);
  });
  const watcher = observerSystem.spawn(
    receive<null, { type: 'Watch'; ref: ActorRef<LedgerCommand> } | Terminated>(
      null,
      (s, m, ctx) => {
        if (m.type === 'Watch') ctx.watch(m.ref);
        return s;
      },
      {
        onTerminated: (s, t) => {
          note(
            `observer: Terminated(${t.reason.type}) for the ledger ${t.ref.path} on ${addressNode(t.ref.toString())}`,
          );
          return s;
        },
      },
    ),
    { name: 'ledger-watcher' },
  );
  // The audit: every opportunity the oracle stored in the priced stream, read back from
  // JetStream by the observer (exact, whatever processes were killed on the way).
  const priced = await durableTopic<Priced>(observer, 'priced');
  const audited = new Set<number>();
  observerSystem.spawn(
    priced.subscriber<null>({
      name: 'audit',
      start: 'all',
      initial: null,
      maxAckPending: 256,
      handle: (s, event) => {
        if (event.spread > SPREAD_THRESHOLD) audited.add(event.block);
        return s;
      },
    }),
    { name: 'audit' },
  );
  const watched = new Set<string>();
  observer.subscribe(LEDGER, (refs) => {
    for (const ref of refs) {
      const key = String(ref);
      if (watched.has(key)) continue;
      watched.add(key);
      watcher.tell({ type: 'Watch', ref });
    }
  });

  const poll = setInterval(() => {
    for (const proc of procs) {
      if (proc.status !== 'up') continue;
      fetchJson<NodeState>(proc.port, '/state').then(
        (state) => {
          if (state !== undefined && proc.status === 'up') proc.state = state;
        },
        () => {},
      );
    }
  }, 500);

  let traces: TraceView[] = [];
  const collectTraces = setInterval(() => {
    const up = procs.filter((p) => p.status === 'up');
    Promise.all(up.map((p) => fetchJson<SpanView[]>(p.port, '/traces').catch(() => [] as SpanView[]))).then(
      (lists) => {
        traces = assembleTraces(
          lists.flatMap((l) => l ?? []),
          5,
        );
      },
      () => {},
    );
  }, 2000);

  const view = (proc: Proc): NodeView => ({
    name: proc.name,
    roles: proc.roles,
    status: proc.status,
    pid: proc.child?.pid,
    starts: proc.starts,
    port: proc.port,
    state: proc.state,
  });

  return {
    cluster,
    natsUrl,
    dataDir,
    nodes: () => procs.map(view),
    events: () => [...events],
    traces: () => traces,
    kill(name) {
      const proc = procs.find((p) => p.name === name);
      if (proc?.child === undefined || proc.status !== 'up') return false;
      note(`kill ${name}: SIGKILL to pid ${proc.child.pid}`);
      proc.child.kill('SIGKILL');
      return true;
    },
    async control(name, body) {
      const proc = procs.find((p) => p.name === name);
      if (proc === undefined) return { status: 404, body: { error: `no node ${name}` } };
      if (proc.status !== 'up')
        return { status: 409, body: { error: `${name} is ${proc.status}; try again shortly` } };
      return postJson(proc.port, '/control', body);
    },
    async metrics(name) {
      const proc = procs.find((p) => p.name === name);
      if (proc === undefined || proc.status !== 'up') return undefined;
      return fetchText(proc.port, '/metrics').catch(() => undefined);
    },
    async stop(drainMs = 10_000) {
      const opportunities = () => audited.size;
      const ledger = () => procs.find((p) => p.roles.includes('execution'))?.state?.counters.ledger;
      // Stop the source, then let what it published drain through the others.
      for (const proc of procs)
        if (proc.roles.includes('source') && proc.status === 'up')
          await postJson(proc.port, '/control', { action: 'stopSource' });
      const deadline = Date.now() + drainMs;
      let steady = 0;
      let last = -1;
      while (Date.now() < deadline && steady < 3) {
        await new Promise((r) => setTimeout(r, 500));
        const now = opportunities();
        steady = ledger() === now && now === last ? steady + 1 : 0;
        last = now;
      }
      stopping = true;
      clearInterval(poll);
      clearInterval(collectTraces);
      for (const proc of procs) if (proc.restartTimer !== undefined) clearTimeout(proc.restartTimer);
      await Promise.all(procs.map(terminate));
      await observerSystem.shutdown({ timeoutMs: 2000 });
      await local?.stop();
      process.removeListener('exit', killAll);
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
      const states = procs.map((p) => p.final ?? p.state).filter((s): s is NodeState => s !== undefined);
      return { states, opportunities: opportunities() };
    },
  };
}

/** SIGTERM, then SIGKILL if it has not ended within 8 s. */
async function terminate(proc: Proc): Promise<void> {
  const child = proc.child;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(timer);
}

const addressNode = (address: string): string => /@([^/]+)\//.exec(address)?.[1] ?? '?';

function fetchText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 800 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function fetchJson<T>(port: number, path: string): Promise<T | undefined> {
  return JSON.parse(await fetchText(port, path)) as T;
}

async function postJson(
  port: number,
  path: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        timeout: 2000,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 502, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) =>
      resolve({ status: 502, body: { error: `the node did not answer: ${error.message}` } }),
    );
    req.end(payload);
  });
}
