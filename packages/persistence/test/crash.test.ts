/**
 * Real processes, real SQLite file, SIGKILL: what a reply acknowledged is on disk, no command
 * is half stored, recovery equals a replay of what is stored, and sequence numbers have no gap.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { sqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCOUNTS = 20;

function run(mode: 'write' | 'verify', db: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@troupe/source',
      fileURLToPath(new URL('./support/crash-node.ts', import.meta.url)),
      mode,
      db,
      String(ACCOUNTS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('a process killed with SIGKILL while its actors persist', () => {
  it('loses nothing it acknowledged, stores no partial command, and recovers exactly what is stored', async () => {
    const db = join(dir, 'crash.db');
    const writer = run('write', db);
    await waitFor(() => writer.lines.length >= 1500, 'the writer to acknowledge 1500 commands', 40_000);
    writer.child.kill('SIGKILL');
    await writer.exited;
    const acked = writer.lines
      .filter((l) => l.startsWith('ack '))
      .map((l) => l.split(' ').slice(1) as [string, string]);

    // What is on disk, read directly.
    const store = sqliteStore({ path: db });
    const stored = new Map<string, { seq: number; event: { type: string; id: number } }[]>();
    for (let i = 0; i < ACCOUNTS; i++) {
      const pid = `acct-${i}`;
      const events = await store.readEvents(pid, 1, 1_000_000);
      stored.set(
        pid,
        events.map((e) => ({ seq: e.seq, event: JSON.parse(e.payload) as { type: string; id: number } })),
      );
      // No gap: 1..n.
      expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1));
      expect(await store.highestSeq(pid)).toBe(events.length);
    }
    // Every acknowledged command is there.
    for (const [pid, id] of acked) {
      expect(stored.get(pid)?.some((e) => e.event.type === 'deposited' && e.event.id === Number(id))).toBe(
        true,
      );
    }
    // No command half stored: each id has exactly its three events, in order.
    const commands = new Map<string, number>();
    for (const [pid, events] of stored) {
      expect(events.length % 3).toBe(0);
      for (let k = 0; k < events.length; k += 3) {
        const id = events[k]?.event.id;
        expect(events.slice(k, k + 3).map((e) => `${e.event.type}:${e.event.id}`)).toEqual([
          `requested:${id}`,
          `deposited:${id}`,
          `audited:${id}`,
        ]);
      }
      commands.set(pid, events.length / 3);
    }
    await store.close();
    expect(acked.length).toBeGreaterThanOrEqual(1500);

    // Start again: each account recovers to a replay of its stored events, then goes on without a gap.
    const verifier = run('verify', db);
    expect(await verifier.exited).toBe(0);
    const states = verifier.lines.filter((l) => l.startsWith('state '));
    expect(states).toHaveLength(ACCOUNTS);
    for (const line of states) {
      const [, pid, balance, count] = line.split(' ') as [string, string, string, string];
      expect(Number(balance)).toBe(commands.get(pid));
      expect(Number(count)).toBe(commands.get(pid));
    }
    const after = sqliteStore({ path: db });
    for (let i = 0; i < ACCOUNTS; i++) {
      const events = await after.readEvents(`acct-${i}`, 1, 1_000_000);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1));
      expect(events.length).toBe((commands.get(`acct-${i}`) ?? 0) * 3 + 3);
    }
    await after.close();
  }, 90_000);
});
