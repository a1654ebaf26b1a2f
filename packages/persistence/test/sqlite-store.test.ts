import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PersistenceStore, Write } from '../src/store.js';
import { sqliteStore } from '../src/stores/sqlite-store.js';
import { storeConformance } from './store-conformance.js';
import type { RacerData, RacerOutcome } from './support/sqlite-racer.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshFile = (): string => join(dir, `store-${++files}.db`);
const pathOf = new WeakMap<PersistenceStore, string>();

storeConformance('sqlite', {
  open: async () => {
    const path = freshFile();
    const store = sqliteStore({ path });
    pathOf.set(store, path);
    return store;
  },
  reopen: async (closed) => {
    const path = pathOf.get(closed);
    if (path === undefined) throw new Error('not opened by this suite');
    return sqliteStore({ path });
  },
});

storeConformance('sqlite (synchronous normal)', {
  open: async () => sqliteStore({ path: freshFile(), synchronous: 'normal' }),
});

storeConformance('sqlite (:memory:)', { open: async () => sqliteStore({ path: ':memory:' }) });

const events = (pid: string, expectedSeq: number, ...payloads: string[]): Write => ({
  kind: 'events',
  persistenceId: pid,
  expectedSeq,
  events: payloads.map((payload) => ({ payload })),
});

// A worker runs the racer's TypeScript through tsx, registered before the racer is imported.
const racerBootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./support/sqlite-racer.ts', import.meta.url).href)}); })
  .catch((error) => { throw error; });`;

describe('sqlite store', () => {
  const toClose: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const handle of toClose.splice(0).reverse()) await handle.close();
  });
  const open = (path: string, synchronous?: 'full' | 'normal'): PersistenceStore => {
    const store = sqliteStore(synchronous === undefined ? { path } : { path, synchronous });
    toClose.push(store);
    return store;
  };
  const raw = (path: string): Database.Database => {
    const db = new Database(path);
    toClose.push(db);
    return db;
  };

  it('puts the file in WAL mode', async () => {
    const path = freshFile();
    const store = open(path);
    await store.write([events('a', 0, '1')]);
    expect(raw(path).pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.name).toBe(`sqlite:${path}`);
  });

  it('rolls back the whole batch when the database fails midway, earlier valid writes included', async () => {
    const path = freshFile();
    const store = open(path);
    await store.write([events('before', 0, 'kept')]);
    // A second connection on the same file, as another process would be.
    raw(path).exec(`CREATE TRIGGER boom BEFORE INSERT ON troupe_events WHEN NEW.payload = 'boom'
      BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    const heard: number[] = [];
    store.onAppend(() => heard.push(1));
    await expect(
      store.write([
        events('a', 0, 'a1', 'a2'),
        { kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'v1' },
        events('before', 1, 'fine'),
        events('b', 0, 'ok', 'boom'),
      ]),
    ).rejects.toThrow(/boom/);
    expect(heard).toEqual([]);
    expect(await store.highestSeq('a')).toBe(0);
    expect(await store.readEvents('a', 1, 10)).toEqual([]);
    expect(await store.loadState('s')).toBeUndefined();
    expect((await store.readEvents('before', 1, 10)).map((e) => e.payload)).toEqual(['kept']);
    expect(await store.highestSeq('b')).toBe(0);
    expect((await store.readJournal({ afterOffset: 0, limit: 100 })).map((e) => e.payload)).toEqual(['kept']);
    // The store is still usable and the same expectations now succeed.
    expect(await store.write([events('a', 0, 'a1'), events('before', 1, 'fine')])).toEqual([
      { ok: true },
      { ok: true },
    ]);
  });

  it("lets two store objects on one file see each other's commits: of the same expectation one wins", async () => {
    const path = freshFile();
    const one = open(path);
    const two = open(path);
    await one.write([events('a', 0, 'seed')]);
    await two.write([{ kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'v1' }]);
    const results = await Promise.all([
      one.write([
        events('a', 1, 'from-one'),
        { kind: 'state', persistenceId: 's', expectedRevision: 1, payload: 'one' },
      ]),
      two.write([
        events('a', 1, 'from-two'),
        { kind: 'state', persistenceId: 's', expectedRevision: 1, payload: 'two' },
      ]),
    ]);
    const oks = results.flat().filter((r) => r.ok).length;
    expect(oks).toBe(2);
    const winner = results[0]?.[0]?.ok === true ? 'one' : 'two';
    const loser = winner === 'one' ? results[1] : results[0];
    expect(loser).toEqual([
      { ok: false, actual: 2 },
      { ok: false, actual: 2 },
    ]);
    for (const store of [one, two]) {
      expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['seed', `from-${winner}`]);
      expect(await store.loadState('s')).toEqual({ revision: 2, payload: winner });
    }
    // Each object sees the other's commits: the offsets form one journal.
    const journal = await two.readJournal({ afterOffset: 0, limit: 10 });
    expect(journal.map((e) => e.offset)).toEqual([1, 2]);
  });

  it('serializes writers in separate threads on one file: per round exactly one wins, none fails', async () => {
    const path = freshFile();
    open(path); // creates the tables before the racers start
    const workers = 4;
    const rounds = 40;
    const barrier = new SharedArrayBuffer(4);
    const outcomes = await Promise.all(
      Array.from({ length: workers }, (_, id) => {
        const data: RacerData = { path, id, workers, rounds, barrier };
        const worker = new Worker(racerBootstrap, { eval: true, workerData: data });
        return new Promise<RacerOutcome[]>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new Error(`racer ${id} exited with ${code} before reporting`)),
          );
        });
      }),
    );
    const store = open(path);
    for (let round = 0; round < rounds; round++) {
      const column = outcomes.map((perWorker) => perWorker[round]);
      expect(
        column.filter((o) => o === 'ok'),
        `round ${round}: ${column.join(', ')}`,
      ).toHaveLength(1);
      expect(column.filter((o) => o === 'refused:1')).toHaveLength(workers - 1);
      const winner = `w${column.indexOf('ok')}`;
      expect((await store.readEvents(`race-${round}`, 1, 10)).map((e) => e.payload)).toEqual([winner]);
      expect(await store.loadState(`race-${round}`)).toEqual({ revision: 1, payload: winner });
    }
  });

  it('keeps offsets increasing and never reused after the newest events are deleted', async () => {
    const path = freshFile();
    const store = open(path);
    await store.write([events('a', 0, '1', '2')]);
    await store.deleteEvents('a', 2);
    await store.close();
    const again = open(path);
    await again.write([events('a', 2, '3')]);
    const journal = await again.readJournal({ afterOffset: 0, limit: 10 });
    expect(journal.map((e) => [e.offset, e.seq])).toEqual([[3, 3]]);
  });

  it('passes a batch through with synchronous normal as well, and reopens it', async () => {
    const path = freshFile();
    const store = open(path, 'normal');
    expect(await store.write([events('a', 0, '1', '2')])).toEqual([{ ok: true }]);
    expect(raw(path).pragma('journal_mode', { simple: true })).toBe('wal');
    await store.close();
    expect((await open(path).readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['1', '2']);
  });
});
