/**
 * The SQLite store when the file will not cooperate, made to happen for real: another
 * connection holding the write lock (SQLITE_BUSY), a read-only file (a process without write
 * permission), a file-size limit reached mid-write (RLIMIT_FSIZE, the operating system refusing
 * to grow the file, as a full disk does), a file that cannot be opened. Each is a typed
 * StoreUnavailableError (never a crash, never a wait past busyTimeoutMs), and the store works
 * again once the cause is gone. And a database made by the previous schema opens, migrated.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ActorRef, InvalidOptionsError, supervisor } from '@troupe/runtime';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { type PersistenceStore, StoreUnavailableError, sqliteStore, type Write } from '../src/index.js';
import { type AccountCommand, account, balanceOf, deposit } from './support/account.js';
import { startSystem } from './support/systems.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-sqlite-failures-'));
chmodSync(dir, 0o777); // the read-only test's process, another user, creates -wal and -shm here
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => join(dir, `f-${++files}.db`);

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const handle of opened.splice(0).reverse()) await handle.close();
});
const open = (path: string, busyTimeoutMs?: number): PersistenceStore => {
  const store = sqliteStore(busyTimeoutMs === undefined ? { path } : { path, busyTimeoutMs });
  opened.push(store);
  return store;
};
const raw = (path: string): Database.Database => {
  const db = new Database(path);
  opened.push(db);
  return db;
};

const events = (pid: string, expectedSeq: number, ...payloads: string[]): Write => ({
  kind: 'events',
  persistenceId: pid,
  expectedSeq,
  events: payloads.map((payload) => ({ payload })),
});

async function unavailableFrom(promise: Promise<unknown>): Promise<StoreUnavailableError> {
  const error = await promise.then(
    () => new Error('expected a StoreUnavailableError, but the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  return error as StoreUnavailableError;
}

/** Runs support/sqlite-child.ts on `db` (as `uid` if given, under `ulimit -f` if given); its JSON lines. */
async function child(
  db: string,
  big: number,
  limits: { uid?: number; fileSizeBlocks?: number } = {},
): Promise<{ code: number | null; steps: Record<string, Record<string, unknown>> }> {
  const script = fileURLToPath(new URL('./support/sqlite-child.ts', import.meta.url));
  const node = [process.execPath, '--import', 'tsx', '--conditions=@troupe/source', script, db, String(big)];
  const [command, args] =
    limits.fileSizeBlocks === undefined
      ? [node[0] as string, node.slice(1)]
      : ['sh', ['-c', `ulimit -f ${limits.fileSizeBlocks} && exec "$@"`, 'sh', ...node]];
  const proc = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(limits.uid === undefined ? {} : { uid: limits.uid, gid: limits.uid }),
  });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const steps: Record<string, Record<string, unknown>> = {};
  for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    steps[parsed.step as string] = parsed;
  }
  return { code, steps };
}

describe('sqlite store: the file refuses', () => {
  it('SQLITE_BUSY: a write waits busyTimeoutMs for another connection holding the write lock, then fails typed; reads go on; then it works', async () => {
    const path = freshFile();
    const store = open(path, 50);
    expect(await store.write([events('a', 0, '1')])).toEqual([{ ok: true }]);
    const other = raw(path);
    other.exec('BEGIN IMMEDIATE'); // another process's writer, holding the lock
    const started = Date.now();
    const error = await unavailableFrom(store.write([events('a', 1, 'blocked'), events('b', 0, 'too')]));
    expect(Date.now() - started).toBeLessThan(2000); // bounded by busyTimeoutMs, not a hang
    expect(error).toMatchObject({ reason: 'busy', mayHaveCommitted: false, store: `sqlite:${path}` });
    expect(error.cause).toMatchObject({ code: 'SQLITE_BUSY' });
    for (const call of [
      store.saveSnapshot('a', { seq: 1, payload: 's' }),
      store.deleteSnapshots('a', {}),
      store.deleteEvents('a', 1),
      store.saveCheckpoint('p', 1),
    ]) {
      expect(await unavailableFrom(call)).toMatchObject({ reason: 'busy' });
    }
    // WAL: readers are not blocked by the writer.
    expect(await store.highestSeq('a')).toBe(1);
    expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['1']);
    other.exec('COMMIT');
    expect(await store.write([events('a', 1, '2'), events('b', 0, 'too')])).toEqual([
      { ok: true },
      { ok: true },
    ]);
    expect(await store.highestSeq('b')).toBe(1);
  });

  it('SQLITE_BUSY under an actor: the command fails, the supervisor restarts it, and it writes once the lock is free', async () => {
    const path = freshFile();
    const store = open(path, 20);
    const { system, failures } = startSystem('busy');
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 10, withinMs: 60_000 },
        children: [{ id: 'acct', behavior: account('acct-1', store) }],
      }),
      { name: 'bank' },
    );
    const ref = system.lookup('/user/bank/acct') as ActorRef<AccountCommand>;
    expect(await deposit(ref, 10)).toBe(10);
    const other = raw(path);
    other.exec('BEGIN IMMEDIATE');
    ref.tell({ type: 'deposit', amount: 5 });
    await waitFor(() => failures.length === 1, 'the failed write');
    expect(failures[0]?.error).toMatchObject({ name: 'StoreUnavailableError', reason: 'busy' });
    other.exec('COMMIT');
    expect(await balanceOf(ref)).toBe(10); // the failed command's event was not applied
    expect(await deposit(ref, 1)).toBe(11);
  });

  it('a read-only file: reads work, writes fail typed, the process goes on', async () => {
    const path = freshFile();
    const setup = sqliteStore({ path });
    await setup.write([events('a', 0, 'before')]);
    await setup.close();
    chmodSync(path, 0o444);
    // Root ignores file permissions: then the child runs as nobody.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    const { code, steps } = await child(path, 10, uid === undefined ? {} : { uid });
    expect(code).toBe(0);
    expect(steps.open).toMatchObject({ ok: true });
    expect(steps.read).toMatchObject({ ok: true, value: 1 });
    for (const step of ['write big', 'write small', 'snapshot']) {
      expect(steps[step]).toMatchObject({
        ok: false,
        name: 'StoreUnavailableError',
        reason: 'readOnly',
        mayHaveCommitted: false,
        code: 'SQLITE_READONLY',
      });
    }
    expect(steps.end).toMatchObject({ ok: true });
    chmodSync(path, 0o644);
    const again = open(path);
    expect((await again.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['before']);
  });

  it('a file-size limit reached mid-write (the OS refusing to grow the file, as a full disk does): typed, nothing stored, smaller writes still work', async () => {
    const path = freshFile();
    const setup = sqliteStore({ path });
    await setup.write([events('a', 0, 'before')]);
    await setup.close();
    // 200 blocks (100 KB with sh's 512-byte blocks, 200 KB with 1 KB ones): a 1 MB event cannot fit.
    const { code, steps } = await child(path, 1 << 20, { fileSizeBlocks: 200 });
    expect(code).toBe(0);
    expect(steps.read).toMatchObject({ ok: true, value: 1 });
    const big = steps['write big'] as Record<string, unknown>;
    expect(big).toMatchObject({ ok: false, name: 'StoreUnavailableError' });
    expect(['io', 'diskFull']).toContain(big.reason);
    expect(steps['write small']).toMatchObject({ ok: true });
    expect(steps.snapshot).toMatchObject({ ok: false, name: 'StoreUnavailableError' });
    expect(steps['read again']).toMatchObject({ ok: true, value: 2 });
    const again = open(path);
    expect((await again.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['before', 'small']);
  });

  it('a file that cannot be opened is a StoreUnavailableError at once; a missing directory a TypeError; bad options are reported together', () => {
    let opening: unknown;
    try {
      sqliteStore({ path: dir }); // a directory, not a database file
    } catch (error) {
      opening = error;
    }
    expect(opening).toBeInstanceOf(StoreUnavailableError);
    expect(opening).toMatchObject({
      reason: 'io',
      mayHaveCommitted: false,
      cause: { code: 'SQLITE_CANTOPEN' },
    });
    expect(() => sqliteStore({ path: join(dir, 'no-such-dir', 'x.db') })).toThrow(/directory does not exist/);
    expect(() => sqliteStore({ path: '' })).toThrow(TypeError);
    let error: unknown;
    try {
      sqliteStore({ path: 7 as never, synchronous: 'sometimes' as never, busyTimeoutMs: -1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).errors.map((e) => e.message)).toEqual([
      'sqliteStore: path must be a non-empty string; got 7',
      "sqliteStore: synchronous must be one of 'full', 'normal'; got \"sometimes\"",
      'sqliteStore: busyTimeoutMs must be an integer >= 0; got -1',
    ]);
  });
});

/** The tables exactly as the code before schema versions created them. */
const VERSION_1 = `
CREATE TABLE troupe_events ("offset" INTEGER PRIMARY KEY AUTOINCREMENT, persistence_id TEXT NOT NULL,
  seq INTEGER NOT NULL, payload TEXT NOT NULL, tags TEXT NOT NULL, timestamp INTEGER NOT NULL,
  UNIQUE (persistence_id, seq));
CREATE TABLE troupe_ids (persistence_id TEXT PRIMARY KEY, highest_seq INTEGER NOT NULL,
  deleted_to INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE troupe_snapshots (persistence_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE troupe_states (persistence_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE troupe_checkpoints (projection_id TEXT PRIMARY KEY, "offset" INTEGER NOT NULL) WITHOUT ROWID;`;

describe('sqlite store: a database made by the previous schema', () => {
  const oldDatabase = (): string => {
    const path = freshFile();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(VERSION_1);
    const insert = db.prepare(
      'INSERT INTO troupe_events (persistence_id, seq, payload, tags, timestamp) VALUES (?, ?, ?, ?, ?)',
    );
    for (let seq = 1; seq <= 6; seq++)
      insert.run('acct-1', seq, '{"type":"deposited","amount":10}', '["t"]', 1000);
    db.prepare('INSERT INTO troupe_ids VALUES (?, ?, 0)').run('acct-1', 6);
    db.prepare('INSERT INTO troupe_snapshots VALUES (?, ?, ?)').run(
      'acct-1',
      4,
      '{"balance":40,"history":4}',
    );
    db.prepare('INSERT INTO troupe_states VALUES (?, ?, ?)').run('cart', 3, '{"items":["x"]}');
    db.prepare('INSERT INTO troupe_checkpoints VALUES (?, ?)').run('p', 5);
    db.close();
    return path;
  };

  it('is migrated at open: everything is still there, the old snapshot has timestamp 0, and an actor recovers from it', async () => {
    const path = oldDatabase();
    const store = open(path);
    expect(raw(path).pragma('user_version', { simple: true })).toBe(3);
    expect(await store.loadSnapshot('acct-1')).toEqual({
      seq: 4,
      timestamp: 0,
      payload: '{"balance":40,"history":4}',
    });
    expect(await store.loadState('cart')).toEqual({ revision: 3, payload: '{"items":["x"]}' });
    expect(await store.loadCheckpoint('p')).toBe(5);
    expect((await store.readJournal({ afterOffset: 0, limit: 100, tag: 't' })).length).toBe(6);
    // Several snapshots and tombstones work on the migrated tables.
    await store.saveSnapshot('acct-1', { seq: 6, payload: '{"balance":60,"history":6}', timestamp: 5 });
    expect((await store.loadSnapshot('acct-1', { maxTimestamp: 4 }))?.seq).toBe(4);
    expect(await store.write([{ kind: 'deleteState', persistenceId: 'cart', expectedRevision: 3 }])).toEqual([
      { ok: true },
    ]);
    const { system } = startSystem('migrated');
    const ref = system.spawn(account('acct-1', store));
    expect(await balanceOf(ref)).toBe(60);
    expect(await deposit(ref, 1)).toBe(61);
  });

  it('two stores opening the old file at once: one migrates, the other finds it migrated', async () => {
    const path = oldDatabase();
    const [a, b] = [open(path), open(path)];
    expect(await a.highestSeq('acct-1')).toBe(6);
    expect(await b.loadSnapshot('acct-1')).toMatchObject({ seq: 4, timestamp: 0 });
  });

  it('refuses a database from a newer version of this package', () => {
    const path = freshFile();
    open(path);
    raw(path).pragma('user_version = 99');
    expect(() => sqliteStore({ path })).toThrow(/schema version 99, newer than this version/);
  });
});
