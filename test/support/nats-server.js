// Starts a real nats-server (Debian's 2.9, from PATH or /usr/sbin) on a random loopback port
// with its own temporary storage, for tests that kill, restart or configure a broker.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/** The nats-server binary, or null (then tests skip, except in CI where they fail). */
export function natsServerBinary() {
    for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
        const candidate = join(dir, 'nats-server');
        if (dir !== '' && existsSync(candidate))
            return candidate;
    }
    return null;
}
/** Why cluster tests cannot run here, or null when they can. Throws in CI: there they must run. */
export function natsUnavailable() {
    if (natsServerBinary() !== null)
        return null;
    const why = 'nats-server is not installed: run `apt-get install nats-server` to run the cluster tests';
    if (process.env.CI)
        throw new Error(`${why} (CI must run them)`);
    return why;
}
async function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
        });
    });
}
export async function startNatsServer(options = {}) {
    const binary = natsServerBinary();
    if (binary === null)
        throw new Error('nats-server not found');
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (options.jetstream)
        args.push('-js', '-sd', join(dir, 'js'));
    if (options.config !== undefined) {
        const file = join(dir, 'server.conf');
        writeFileSync(file, options.config);
        args.push('-c', file);
    }
    let child = null;
    const launch = async () => {
        const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        child = proc;
        await new Promise((resolve, reject) => {
            let log = '';
            const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 10_000);
            proc.stderr?.on('data', (chunk) => {
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
    const end = async (signal) => {
        const proc = child;
        if (proc === null || proc.exitCode !== null || proc.signalCode !== null)
            return;
        await new Promise((resolve) => {
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
//# sourceMappingURL=nats-server.js.map