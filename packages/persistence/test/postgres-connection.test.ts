/**
 * PostgreSQL connection loss, against the real server: a backend terminated in the middle of a
 * write transaction, every connection cut, the server unreachable, and a commit whose answer
 * never arrives. The process never crashes (the auditor fails a test on any uncaught error);
 * writes in flight fail with a StoreUnavailableError that says whether they may have committed;
 * the store serves the next call once the server answers; and the behaviours built on it recover
 * from what is really stored.
 */
import { randomBytes } from 'node:crypto';
import { type ActorRef, supervisor } from '@troupe/runtime';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PG_TEST_URL, postgresUnavailable } from '../../../test/support/postgres.js';
import { waitFor } from '../../../test/support/wait.js';
import { type PersistenceStore, postgresStore, StoreUnavailableError, type Write } from '../src/index.js';
import { type AccountCommand, type AccountReply, account, balanceOf, deposit } from './support/account.js';
import { startSystem } from './support/systems.js';
import { TcpProxy } from './support/tcp-proxy.js';

const unavailable = await postgresUnavailable();
if (unavailable !== null) console.warn(`skipping the PostgreSQL connection tests: ${unavailable}`);

const schemas: string[] = [];
const stores: PersistenceStore[] = [];
const proxies: TcpProxy[] = [];

/** A separate connection, as an operator would have. */
const admin = async <T>(body: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
};

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
afterAll(async () => {
  if (schemas.length === 0) return;
  await admin(async (client) => {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
});

/** A store in a fresh schema whose connections carry their own application name (to find them). */
async function open(options: { via?: TcpProxy } = {}) {
  const tag = randomBytes(5).toString('hex');
  const schema = `troupe_conn_${tag}`;
  schemas.push(schema);
  const url = new URL(PG_TEST_URL);
  if (options.via !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(options.via.port);
  }
  const application = `troupe-conn-${tag}`;
  const store = await postgresStore({
    connectionString: url.toString(),
    schema,
    maxConnections: 4,
    pool: { application_name: application, connectionTimeoutMillis: 2000 },
  });
  stores.push(store);
  return { store, schema, application };
}

async function proxy(): Promise<TcpProxy> {
  const url = new URL(PG_TEST_URL);
  const started = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
  proxies.push(started);
  return started;
}

const events = (pid: string, expectedSeq: number, ...payloads: string[]): Write => ({
  kind: 'events',
  persistenceId: pid,
  expectedSeq,
  events: payloads.map((payload) => ({ payload })),
});

/** Rejects with the StoreUnavailableError `promise` rejects with, or fails the test. */
async function unavailableFrom(promise: Promise<unknown>): Promise<StoreUnavailableError> {
  const error = await promise.then(
    () => new Error('expected a StoreUnavailableError, but the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  return error as StoreUnavailableError;
}

/** Runs `body` while another connection holds the row of `pid` in `troupe_ids` (a write on it waits). */
async function withRowLocked(schema: string, pid: string, body: () => Promise<void>): Promise<void> {
  const blocker = new pg.Client({ connectionString: PG_TEST_URL });
  blocker.on('error', () => {});
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".troupe_ids WHERE persistence_id = $1 FOR UPDATE`, [pid]);
    await body();
  } finally {
    await blocker.query('ROLLBACK');
    await blocker.end();
  }
}

/** Until a backend of `application` waits for a lock: a write is in the middle of its transaction. */
function waitForLockWait(application: string): Promise<void> {
  return waitFor(
    () =>
      admin(async (c) => {
        const { rows } = await c.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [application],
        );
        return rows.length === 1;
      }),
    'the write to wait for the row lock',
  );
}

/** Calls `call` until it succeeds (at most 20 tries); returns what the failed tries threw. */
async function untilServed(call: () => Promise<unknown>): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await call();
      return failures;
    } catch (error) {
      failures.push(error);
    }
  }
  throw new Error(`still failing after 20 tries: ${failures.map(String).join('; ')}`);
}

describe.skipIf(unavailable !== null)('postgres store: connection loss', () => {
  it('a backend terminated in the middle of a write transaction fails that write with a typed error; nothing is stored; the next write succeeds', async () => {
    const { store, schema, application } = await open();
    expect(await store.write([events('a', 0, 'first')])).toEqual([{ ok: true }]);
    // Hold the row the next write locks, so that write is certainly inside its transaction.
    await withRowLocked(schema, 'a', async () => {
      const write = store.write([events('a', 1, 'second'), events('b', 0, 'other')]);
      await waitForLockWait(application);
      await admin((c) =>
        c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [application],
        ),
      );
      const error = await unavailableFrom(write);
      expect(error).toMatchObject({
        reason: 'connection',
        mayHaveCommitted: false,
        store: `postgres:${schema}`,
      });
      expect(error.message).toMatch(/the store is unavailable \(connection\)/);
    });
    expect(await store.highestSeq('a')).toBe(1);
    expect(await store.highestSeq('b')).toBe(0);
    expect(await store.write([events('a', 1, 'second')])).toEqual([{ ok: true }]);
    expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['first', 'second']);
  });

  it('every connection cut mid-write, then the server unreachable, then back: typed errors, never a crash, then recovery', async () => {
    const via = await proxy();
    const { store, schema, application } = await open({ via });
    expect(await store.write([events('a', 0, '1')])).toEqual([{ ok: true }]);
    await withRowLocked(schema, 'a', async () => {
      const write = store.write([events('a', 1, 'cut')]);
      await waitForLockWait(application);
      via.cut();
      expect(await unavailableFrom(write)).toMatchObject({ reason: 'connection', mayHaveCommitted: false });
    });
    // The pool's idle connections died too: calls that pick one fail typed until the pool has
    // noticed and discarded them all; then it reconnects.
    const failures = await untilServed(() => store.highestSeq('a'));
    expect(failures.every((e) => e instanceof StoreUnavailableError)).toBe(true);
    expect(failures.length).toBeLessThanOrEqual(4); // at most one per pooled connection
    expect(await store.highestSeq('a')).toBe(1);
    await via.stop();
    const write = await unavailableFrom(store.write([events('a', 1, 'lost')]));
    expect(write).toMatchObject({ reason: 'connection', mayHaveCommitted: false });
    // Once the pool has dropped its dead connections, a call is refused at connect.
    const causes: unknown[] = [];
    for (let i = 0; i < 6; i++) causes.push((await unavailableFrom(store.highestSeq('a'))).cause);
    expect(causes.at(-1)).toMatchObject({ code: 'ECONNREFUSED' });
    const read = await unavailableFrom(store.readEvents('a', 1, 10));
    expect(read).toMatchObject({ reason: 'connection', mayHaveCommitted: false });
    await unavailableFrom(store.saveSnapshot('a', { seq: 1, payload: 's' }));
    await unavailableFrom(store.loadSnapshot('a'));
    await unavailableFrom(store.deleteEvents('a', 1));
    await via.resume();
    expect(await store.write([events('a', 1, '2')])).toEqual([{ ok: true }]);
    expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['1', '2']);
  });

  it('a commit whose answer is lost is reported as may-have-committed, and it did commit', async () => {
    const via = await proxy();
    const { store } = await open({ via });
    const lost = via.loseAnswerTo('COMMIT\u0000', { deliver: true });
    const error = await unavailableFrom(store.write([events('a', 0, 'committed?')]));
    await lost;
    expect(error).toMatchObject({ reason: 'connection', mayHaveCommitted: true });
    expect(error.message).toMatch(/the write may have committed/);
    expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['committed?']);
  });

  it('a commit cut before it reached the server is may-have-committed too, and it did not commit', async () => {
    const via = await proxy();
    const { store } = await open({ via });
    const lost = via.loseAnswerTo('COMMIT\u0000', { deliver: false });
    const error = await unavailableFrom(store.write([events('a', 0, 'never')]));
    await lost;
    expect(error).toMatchObject({ reason: 'connection', mayHaveCommitted: true });
    expect(await store.highestSeq('a')).toBe(0);
  });

  it('an actor whose commit answer was lost fails, and its restart recovers the event that did commit', async () => {
    const via = await proxy();
    const { store } = await open({ via });
    const { system, failures, deadLetters } = startSystem('lost-commit');
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [{ id: 'acct', behavior: account('acct-1', store) }],
      }),
      { name: 'bank' },
    );
    const ref = system.lookup('/user/bank/acct') as ActorRef<AccountCommand>;
    expect(await deposit(ref, 10)).toBe(10);
    const lost = via.loseAnswerTo('COMMIT\u0000', { deliver: true });
    const reply = ref.ask<AccountReply>((replyTo) => ({ type: 'deposit', amount: 5, replyTo }), {
      timeoutMs: 400,
    });
    await expect(reply).rejects.toThrow(/timed out/); // no reply: `then` never ran for it
    await lost;
    await waitFor(() => failures.length === 1, 'the actor to fail');
    expect(failures[0]?.error).toMatchObject({ name: 'StoreUnavailableError', mayHaveCommitted: true });
    expect(deadLetters.filter((d) => d.reason === 'failed')).toHaveLength(1);
    // Recovery reads what is really there: the deposit did commit.
    expect(await balanceOf(ref)).toBe(15);
    expect(await deposit(ref, 1)).toBe(16); // no ConcurrencyError: the restart knows seq 2
    expect(failures).toHaveLength(1);
  });
});
