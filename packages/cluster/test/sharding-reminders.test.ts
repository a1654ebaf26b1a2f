// Durable reminders: stored in the persistence store, fired on whichever node owns the entity's
// shard, once per due time — also when the node that scheduled them was SIGKILLed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryStore, sqliteStore } from '@troupe/persistence';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { alarmType } from './support/alarm.js';
import { ShardCluster } from './support/sharding.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping reminder tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('durable reminders', () => {
  let server: NatsServer;
  let cluster: ShardCluster;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await cluster?.stopAll();
  });

  it('a one-shot reminder fires once, at its time, activating a passivated entity', async () => {
    cluster = new ShardCluster(server.url);
    const fired: { id: string; dueAt: number; at: number }[] = [];
    const Alarm = alarmType(memoryStore(), (id, dueAt) => fired.push({ id, dueAt, at: Date.now() }));
    const a = await cluster.start('a', [Alarm]);
    const at = Date.now() + 300;
    a.sharding.ref(Alarm, 'wake-me').tell({ type: 'set', at });
    await waitFor(() => fired.length >= 1, 'the reminder fired', 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toHaveLength(1);
    expect(fired[0]?.dueAt).toBe(at);
    expect(fired[0]?.at).toBeGreaterThanOrEqual(at);
  }, 20_000);

  it('the node that scheduled them is SIGKILLed: each reminder fires once, on a survivor', async () => {
    cluster = new ShardCluster(server.url);
    const dir = mkdtempSync(join(tmpdir(), 'troupe-reminders-'));
    const file = join(dir, 'reminders.db');
    const store = sqliteStore({ path: file });
    const fired: { id: string; dueAt: number; node: string }[] = [];
    const Alarm = alarmType(store, (id, dueAt, node) => fired.push({ id, dueAt, node }));
    const a = await cluster.start('a', [Alarm]);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@troupe/source',
        fileURLToPath(new URL('./support/reminder-node.ts', import.meta.url)),
        server.url,
        cluster.name,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await waitFor(() => out.includes('ready'), 'the child owns shards', 20_000);
      await waitFor(
        () => (a.sharding.stats().types.alarm?.shards ?? 0) <= 24,
        'a gave some shards to b',
        10_000,
      );
      // Twenty alarms, 2.5 s ahead: some on a, some on b.
      const at = Date.now() + 2500;
      const ids = Array.from({ length: 20 }, (_, i) => `alarm-${i}`);
      for (const id of ids) a.sharding.ref(Alarm, id).tell({ type: 'set', at });
      await waitFor(() => {
        const s = a.sharding.stats().types.alarm;
        return (s?.delivered ?? 0) + (s?.forwarded ?? 0) === 20;
      }, 'every set handed on');
      await new Promise((r) => setTimeout(r, 300)); // b stores its reminders
      child.kill('SIGKILL');
      await waitFor(() => fired.length >= 20, 'all twenty fired', 15_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(fired.map((f) => f.id).sort()).toEqual([...ids].sort()); // each once
      expect(new Set(fired.map((f) => f.node))).toEqual(new Set(['a'])); // on the survivor
      expect(fired.every((f) => f.dueAt === at)).toBe(true);
      expect(out).not.toContain('fired'); // b died before any was due
    } finally {
      child.kill('SIGKILL');
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
