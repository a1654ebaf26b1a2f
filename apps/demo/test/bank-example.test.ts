import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'troupe-bank-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bank = async () =>
  (
    await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@troupe/source', 'apps/demo/src/examples/bank.ts'],
      { cwd: root, env: { ...process.env, BANK_DB: join(dir, 'bank.db') }, timeout: 60_000 },
    )
  ).stdout;

describe('the bank example (event sourcing + a projection, on SQLite)', () => {
  it('answers queries from the read model, and a second process recovers the accounts from the file', async () => {
    const first = await bank();
    expect(first).toContain('recovered balances: { alice: 0, bob: 0, carol: 0 }');
    expect(first).toContain('carol withdraws 1,000,000: rejected (balance is 0)');
    expect(first).toContain('read model: total 110, richest alice, built from 3 events');
    const second = await bank();
    expect(second).toContain('recovered balances: { alice: 70, bob: 40, carol: 0 }');
    expect(second).toContain('read model: total 220, richest alice, built from 6 events');
  }, 120_000);
});
