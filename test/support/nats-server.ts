// Starts a real nats-server (Debian's 2.9, from PATH or /usr/sbin) on a random loopback port
// with its own temporary storage, for tests that kill, restart or configure a broker.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts again on the same port (after kill or stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The nats-server binary, or null (then tests skip, except in CI where they fail). */
export function natsServerBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    const candidate = join(dir, 'nats-server');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Why cluster tests cannot run here, or null when they can. Throws in CI: there they must run. */
export function natsUnavailable(): string | null {
  if (natsServerBinary() !== null) return null;
  const why = 'nats-server is not installed: run `apt-get install nats-server` to run the cluster tests';
  if (process.env.CI) throw new Error(`${why} (CI must run them)`);
  return why;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface NatsServerOptions {
  /** Extra configuration file text (accounts, authorization, limits). */
  readonly config?: string;
  readonly jetstream?: boolean;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (binary === null) throw new Error('nats-server not found');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.jetstream) args.push('-js', '-sd', join(dir, 'js'));
  if (options.config !== undefined) {
    const file = join(dir, 'server.conf');
    writeFileSync(file, options.config);
    args.push('-c', file);
  }
  let child: ChildProcess | null = null;
  const launch = async () => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    process.once('exit', () => proc.kill('SIGKILL')); // never outlive the process that started it
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 10_000);
      proc.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${log}`));
      });
    });
    proc.removeAllListeners('exit');
  };
  const end = async (signal: NodeJS.Signals) => {
    const proc = child as ChildProcess | null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
    child = null;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill: () => end('SIGKILL'),
    restart: launch,
    async stop() {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
