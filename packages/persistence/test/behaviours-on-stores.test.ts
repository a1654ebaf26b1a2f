/**
 * The behaviours on each real backend (the other behaviour tests use the memory store): an
 * event-sourced actor recovers in a new system, and of two systems ("nodes") writing one
 * persistence id through two store objects on one database, one wins and the other recovers.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ActorFailed, type ActorRef, ActorSystem, supervisor } from '@troupe/runtime';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PG_TEST_URL, postgresUnavailable } from '../../../test/support/postgres.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  ConcurrencyError,
  durableState,
  Effect,
  type PersistenceStore,
  postgresStore,
  sqliteStore,
} from '../src/index.js';
import { type AccountCommand, account, balanceOf, deposit } from './support/account.js';

const unavailable = await postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'troupe-behaviours-'));
const schemas: string[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

interface Backend {
  readonly name: string;
  readonly skip: string | null;
  /** Opens a new store object on the database `id` names (the same id: the same database). */
  readonly open: (id: string) => Promise<PersistenceStore>;
}

const backends: Backend[] = [
  { name: 'sqlite', skip: null, open: async (id) => sqliteStore({ path: join(dir, `${id}.db`) }) },
  {
    name: 'postgres',
    skip: unavailable,
    open: async (id) => {
      const schema = `troupe_beh_${id}`;
      if (!schemas.includes(schema)) schemas.push(schema);
      return postgresStore({ connectionString: PG_TEST_URL, schema, maxConnections: 4 });
    },
  },
];

const systems: ActorSystem[] = [];
const stores: PersistenceStore[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ timeoutMs: 1000 });
  for (const store of stores.splice(0)) await store.close();
});

const node = (name: string, store: PersistenceStore) => {
  const system = ActorSystem.start({ name });
  systems.push(system);
  const failures: ActorFailed[] = [];
  system.events.subscribe((e) => {
    if (e.type === 'ActorFailed') failures.push(e);
  });
  system.spawn(
    supervisor({
      strategy: 'oneForOne',
      intensity: { maxRestarts: 5, withinMs: 60_000 },
      children: [{ id: 'acct', behavior: account('acct-1', store) }],
    }),
    { name: 'bank' },
  );
  return { system, failures, ref: system.lookup('/user/bank/acct') as ActorRef<AccountCommand> };
};

type CartReply = { readonly type: 'items'; readonly items: readonly string[] };
type CartMsg =
  | { readonly type: 'add'; readonly item: string; readonly replyTo: ActorRef<CartReply> }
  | { readonly type: 'clear'; readonly replyTo: ActorRef<CartReply> }
  | { readonly type: 'get'; readonly replyTo: ActorRef<CartReply> };
const cart = (store: PersistenceStore) =>
  durableState<CartMsg, { items: readonly string[] }>({
    persistenceId: 'cart',
    store,
    emptyState: { items: [] },
    handler: (state, msg) => {
      if (msg.type === 'get')
        return Effect.none(() => msg.replyTo.tell({ type: 'items', items: state.items }));
      if (msg.type === 'clear')
        return Effect.delete((s) => msg.replyTo.tell({ type: 'items', items: s.items }));
      return Effect.persist({ items: [...state.items, msg.item] }, (s) =>
        msg.replyTo.tell({ type: 'items', items: s.items }),
      );
    },
  });
const cartAsk = async (ref: ActorRef<CartMsg>, make: (replyTo: ActorRef<CartReply>) => CartMsg) =>
  (await ref.ask<CartReply>(make, { timeoutMs: 5000 })).items;

for (const backend of backends) {
  describe.skipIf(backend.skip !== null)(`event-sourced actors on ${backend.name}`, () => {
    const open = async (id: string) => {
      const store = await backend.open(id);
      stores.push(store);
      return store;
    };

    it('recover in a new system from the database', async () => {
      const id = randomBytes(4).toString('hex');
      const a = node('a', await open(id));
      for (let i = 1; i <= 10; i++) await deposit(a.ref, i);
      await a.system.shutdown();
      const b = node('b', await open(id));
      expect(await balanceOf(b.ref)).toBe(55);
    });

    it('of two nodes writing one persistence id, one wins; the other fails with ConcurrencyError and recovers the winner', async () => {
      const id = randomBytes(4).toString('hex');
      const a = node('a', await open(id));
      const b = node('b', await open(id));
      await balanceOf(a.ref);
      await balanceOf(b.ref);
      await deposit(a.ref, 10);
      b.ref.tell({ type: 'deposit', amount: 5 });
      await waitFor(() => b.failures.length === 1, 'node b to lose');
      expect(b.failures[0]?.error).toBeInstanceOf(ConcurrencyError);
      expect(await balanceOf(b.ref)).toBe(10);
      expect(await deposit(b.ref, 1)).toBe(11);
      a.ref.tell({ type: 'deposit', amount: 1 }); // a is stale now
      await waitFor(() => a.failures.length === 1, 'node a to lose in turn');
      expect(await balanceOf(a.ref)).toBe(11);
    });

    it('a deleted durable state stays deleted for a new system on a new store object; the revision continues', async () => {
      const id = randomBytes(4).toString('hex');
      const first = ActorSystem.start({ name: 'first' });
      systems.push(first);
      const ref = first.spawn(cart(await open(id)));
      await cartAsk(ref, (replyTo) => ({ type: 'add', item: 'a', replyTo }));
      await cartAsk(ref, (replyTo) => ({ type: 'add', item: 'b', replyTo }));
      expect(await cartAsk(ref, (replyTo) => ({ type: 'clear', replyTo }))).toEqual([]);
      await first.shutdown();
      const store = await open(id);
      expect(await store.loadState('cart')).toEqual({ revision: 3, payload: '', deleted: true });
      const second = ActorSystem.start({ name: 'second' });
      systems.push(second);
      const again = second.spawn(cart(store));
      expect(await cartAsk(again, (replyTo) => ({ type: 'get', replyTo }))).toEqual([]);
      expect(await cartAsk(again, (replyTo) => ({ type: 'add', item: 'c', replyTo }))).toEqual(['c']);
      expect(await store.loadState('cart')).toEqual({ revision: 4, payload: '{"items":["c"]}' });
    });
  });
}

describe('durable state deleted, then a new process', () => {
  const run = async (db: string, ...commands: string[]) => {
    const script = fileURLToPath(new URL('./support/durable-node.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      '--conditions=@troupe/source',
      script,
      db,
      ...commands,
    ]);
    return stdout.trim().split('\n');
  };

  it('a later process starts with no state, at the revision after the delete (SQLite)', async () => {
    const db = join(dir, `durable-${randomBytes(4).toString('hex')}.db`);
    expect(await run(db, 'add:a', 'add:b', 'clear')).toEqual(['start - 0', 'end - 3']);
    expect(await run(db, 'add:c')).toEqual(['start - 3', 'end c 4']);
    expect(await run(db, 'clear')).toEqual(['start c 4', 'end - 5']);
    expect(await run(db)).toEqual(['start - 5', 'end - 5']);
  }, 60_000);
});
