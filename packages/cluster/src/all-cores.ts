import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** Where this process is in {@link onAllCores}. */
export type CoreRole =
  | {
      readonly role: 'primary';
      /** Resolves with each worker's exit code once all have exited (after `stop()` or on their own). */
      readonly exited: Promise<readonly (number | null)[]>;
      /** Sends SIGTERM to every worker (each shuts down gracefully); resolves once all exited. */
      stop(): Promise<readonly (number | null)[]>;
    }
  | {
      readonly role: 'worker';
      /** 0 … count − 1. */
      readonly index: number;
      readonly count: number;
      /** A node name for this worker: `${prefix}-${index}`. */
      readonly node: string;
    };

/** Options of {@link onAllCores}. */
export interface AllCoresOptions {
  /** Worker processes; default `os.availableParallelism()`. Integer ≥ 1. */
  readonly count?: number;
  /** Node names are `${prefix}-${index}`; default `core`. */
  readonly prefix?: string;
  /**
   * A worker that exits with a non-zero code (a crash) is started again under the same index
   * (a new incarnation: its peers see it down, then up), at most this many times in all
   * (default 10). `stop()` and a zero exit are not restarts.
   */
  readonly maxRestarts?: number;
}

const WORKER = 'TROUPE_CORE_WORKER';

/**
 * Runs this program once per core: call it at the top of your entry point. In the process you
 * started (the primary) it forks `count` copies of the same script with the same arguments and
 * Node flags, restarts a worker that crashes, forwards SIGINT/SIGTERM to them (each shuts down
 * gracefully) and returns `{ role: 'primary' }`; in each copy it returns `{ role: 'worker',
 * index, node }`, and the worker joins the cluster as `node` (through a NATS server on the
 * machine) with the same actor code. Messages between the workers are cluster messages.
 *
 * @example
 * const core = await onAllCores();
 * if (core.role === 'worker') {
 *   const system = ActorSystem.start({ name: core.node });
 *   const node = await joinCluster(system, { servers: 'nats://127.0.0.1:4222', cluster: 'app', node: core.node });
 *   // … spawn actors, register them …
 *   system.shutdownOnSignals();
 * }
 */
export function onAllCores(options: AllCoresOptions = {}): CoreRole {
  const count = options.count ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`onAllCores: count must be an integer >= 1; got ${count}`);
  const prefix = options.prefix ?? 'core';
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(prefix))
    throw new TypeError('onAllCores: prefix must be letters, digits, - or _');
  const maxRestarts = options.maxRestarts ?? 10;
  const mine = process.env[WORKER];
  if (mine !== undefined) {
    const index = Number(mine);
    return { role: 'worker', index, count, node: `${prefix}-${index}` };
  }
  const script = process.argv[1];
  if (script === undefined) throw new Error('onAllCores: no script to fork (process.argv[1] is empty)');
  const children: (ChildProcess | null)[] = new Array(count).fill(null);
  const codes: (number | null)[] = new Array(count).fill(null);
  let stopping = false;
  let restarts = 0;
  let resolveExited!: (codes: readonly (number | null)[]) => void;
  const exited = new Promise<readonly (number | null)[]>((resolve) => {
    resolveExited = resolve;
  });
  let running = 0;
  const start = (index: number) => {
    const child = fork(script, process.argv.slice(2), {
      env: { ...process.env, [WORKER]: String(index) },
      execArgv: process.execArgv,
      stdio: 'inherit',
    });
    running++;
    children[index] = child;
    child.once('exit', (code, signal) => {
      running--;
      children[index] = null;
      codes[index] = code ?? (signal === null ? null : 128);
      const crashed = code !== 0 && !stopping;
      if (crashed && restarts < maxRestarts) {
        restarts++;
        setTimeout(() => start(index), Math.min(5000, 100 * 2 ** restarts)).unref();
        return;
      }
      if (running === 0) resolveExited(codes);
    });
  };
  for (let i = 0; i < count; i++) start(i);
  const stop = () => {
    stopping = true;
    for (const child of children) child?.kill('SIGTERM');
    return exited;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop();
    });
  }
  return { role: 'primary', exited, stop };
}
