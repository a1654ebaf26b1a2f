import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const run = promisify(execFile);

/** Every TypeScript block in the README, with the file it claims to be a copy of. */
function tsBlocks(): { source: string | undefined; code: string }[] {
  const blocks: { source: string | undefined; code: string }[] = [];
  const re = /(?:<!-- source: (\S+) -->\n)?```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(readme); m !== null; m = re.exec(readme))
    blocks.push({ source: m[1], code: m[2] as string });
  return blocks;
}

describe('README', () => {
  it('opens with exactly the two commands: run the demo, run the tests', () => {
    const commands = readme.split('\n').filter((l) => l.startsWith('npx -y pnpm@'));
    expect(commands.slice(0, 2)).toEqual([
      'npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 demo    # install, then run the demo',
      'npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 test    # install, then run the tests',
    ]);
    expect(readme.indexOf(commands[0] as string)).toBeLessThan(200);
  });

  it('describes the demo without internal names such as "seed 003"', () => {
    expect(readme).not.toMatch(/seed \d/i);
  });

  it('every TypeScript block is a verbatim copy of a file that a test runs', () => {
    const blocks = tsBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) {
      expect(
        block.source,
        `a block without a <!-- source: … --> marker:\n${block.code.slice(0, 200)}`,
      ).toBeDefined();
      expect(block.code).toBe(readFileSync(`${root}${block.source}`, 'utf8'));
    }
    expect(blocks.map((b) => b.source)).toEqual([
      'apps/demo/src/examples/quickstart.ts',
      'apps/demo/src/examples/channels.ts',
      'apps/demo/src/examples/actors.ts',
      'apps/demo/test/testing-example.test.ts',
      'apps/demo/src/embed/service.ts',
    ]);
  });

  const tsx = (file: string) =>
    run(process.execPath, ['--import', 'tsx', '--conditions=@troupe/source', `${root}${file}`], {
      cwd: root,
      timeout: 20_000,
    });

  it('the quickstart runs as written', async () => {
    const { stdout } = await tsx('apps/demo/src/examples/quickstart.ts');
    expect(stdout).toBe('average: 22°C\n');
  }, 30_000);

  it('the actors-library example runs as written', async () => {
    const { stdout } = await tsx('apps/demo/src/examples/actors.ts');
    expect(stdout.split('\n').filter((l) => l.startsWith('breaker:'))).toEqual([
      'breaker: service down',
      'breaker: service down',
      'breaker: open, failing fast',
      'breaker: hello ada',
    ]);
    expect(stdout).toContain('window: kitchen avg 23 over 3');
    expect(stdout).toContain('batch: [ 1, 2 ]\nbatch: [ 3 ]');
    const routed = stdout.split('\n').filter((l) => l.startsWith('router:'));
    expect(routed).toHaveLength(3); // nothing lost at shutdown
    expect(routed[0]?.replace('ann', '')).toBe(routed[2]?.replace('ann', '')); // one key, one worker
  }, 30_000);

  it('the channels example runs as written', async () => {
    const { stdout } = await tsx('apps/demo/src/examples/channels.ts');
    expect(stdout).toContain("slow got { ok: false, reason: 'lagged', skipped: 1 }");
    expect(stdout).toContain('price 2001');
  }, 30_000);
});
