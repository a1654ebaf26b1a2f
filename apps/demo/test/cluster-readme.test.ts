// The cluster README's example is a verbatim copy of apps/demo/src/examples/cluster.ts, and it
// runs as written against a real nats-server: a node that has just joined finds what another
// registered, asks it, and resolves it by path.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';

const run = promisify(execFile);
const unavailable = natsUnavailable();
const root = fileURLToPath(new URL('../../../', import.meta.url));
const source = 'apps/demo/src/examples/cluster.ts';

describe('the cluster README', () => {
  it('holds the cluster example verbatim', () => {
    const readme = readFileSync(`${root}packages/cluster/README.md`, 'utf8');
    const m = /<!-- source: (\S+) -->\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(m?.[1]).toBe(source);
    expect(m?.[2]).toBe(readFileSync(`${root}${source}`, 'utf8'));
  });
});

describe.skipIf(unavailable !== null)('the cluster example', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs as written: find right after joining, ask across nodes, resolve by path', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@troupe/source', `${root}${source}`],
      { cwd: root, env: { ...process.env, NATS_URL: server.url }, timeout: 30_000 },
    );
    expect(stdout).toBe('tea placed by a\nresolved troupe://shop@a/user/orders\n');
  }, 40_000);
});
