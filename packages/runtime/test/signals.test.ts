import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/signal-service.ts', import.meta.url));
const asker = fileURLToPath(new URL('./fixtures/ask-then-exit.ts', import.meta.url));

describe('shutdownOnSignals', () => {
  it.each([
    ['once', '0'],
    ['twice (idempotent)', '1'],
  ])(
    'SIGTERM drains every queued message, then the process exits 0 on its own: signals wired %s',
    async (_, twice) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@troupe/source', fixture], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, WIRE_TWICE: twice },
      });
      let output = '';
      child.stdout.setEncoding('utf8');
      const ready = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('ready\n')) resolve();
        });
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await ready;
      child.kill('SIGTERM');
      const code = await exited;
      const report = JSON.parse(output.trim().split('\n').at(-1) as string) as {
        handled: number;
        code: number;
        deadLetters: number;
      };
      expect(code).toBe(0);
      expect(report).toEqual({ handled: 300, code: 0, deadLetters: 0 });
    },
    30_000,
  );

  it('settled asks leave no timer behind: the process exits on its own long before the ask timeout', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@troupe/source', asker], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
    });
    // The ask timeout is 60 s; this test's own limit is 20 s, so a leaked timer fails it.
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(output).toBe('asked\n');
  }, 20_000);
});
