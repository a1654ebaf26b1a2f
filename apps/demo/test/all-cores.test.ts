import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';

const run = promisify(execFile);
const unavailable = natsUnavailable();
const example = fileURLToPath(new URL('../src/examples/all-cores.ts', import.meta.url));

describe.skipIf(unavailable !== null)('the all-cores example', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs one node per core from one command, spreads jobs over all of them, and exits 0', async () => {
    const jobs = 300;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@troupe/source', example],
      {
        env: { ...process.env, NATS_URL: server.url, CORES: '2', JOBS: String(jobs) },
        timeout: 60_000,
      },
    );
    const sum = Array.from({ length: jobs }, (_, n) => n * n).reduce((a, b) => a + b, 0);
    expect(stdout).toContain(`${jobs} squares from 2 nodes, sum ${sum}`);
  }, 90_000);
});
