import { randomBytes } from 'node:crypto';
import { InvalidOptionsError } from '@troupe/runtime';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PG_TEST_URL, postgresUnavailable } from '../../../test/support/postgres.js';
import { StoreClosedError } from '../src/errors.js';
import type { PersistenceStore, Write } from '../src/store.js';
import { postgresStore } from '../src/stores/postgres-store.js';
import { storeConformance } from './store-conformance.js';

const unavailable = await postgresUnavailable();
if (unavailable !== null) console.warn(`skipping the PostgreSQL store tests: ${unavailable}`);

const schemas: string[] = [];
const freshSchema = (): string => {
  const schema = `troupe_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return schema;
};
const schemaOf = new WeakMap<PersistenceStore, string>();
const openIn = async (schema: string): Promise<PersistenceStore> => {
  const store = await postgresStore({ connectionString: PG_TEST_URL, schema, maxConnections: 4 });
  schemaOf.set(store, schema);
  return store;
};

/** A separate connection, as another process or an operator would have. */
const admin = async <T>(body: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
};

afterAll(async () => {
  if (schemas.length === 0) return;
  await admin(async (client) => {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
});

const events = (pid: string, expectedSeq: number, ...payloads: string[]): Write => ({
  kind: 'events',
  persistenceId: pid,
  expectedSeq,
  events: payloads.map((payload) => ({ payload })),
});

describe.skipIf(unavailable !== null)('postgres', () => {
  storeConformance('postgres', {
    open: () => openIn(freshSchema()),
    reopen: async (closed) => {
      const schema = schemaOf.get(closed);
      if (schema === undefined) throw new Error('not opened by this suite');
      return openIn(schema);
    },
  });

  describe('postgres store', () => {
    const opened: PersistenceStore[] = [];
    const open = async (schema: string): Promise<PersistenceStore> => {
      const store = await openIn(schema);
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    const raiseOnBoom = (schema: string, table: string) =>
      admin(async (client) => {
        await client.query(`CREATE FUNCTION "${schema}".boom() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.payload = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`);
        await client.query(`CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON "${schema}".${table}
          FOR EACH ROW EXECUTE FUNCTION "${schema}".boom()`);
      });

    it('rolls back the whole batch when an event insert fails, earlier valid writes included', async () => {
      const schema = freshSchema();
      const store = await open(schema);
      await store.write([events('before', 0, 'kept')]);
      await raiseOnBoom(schema, 'troupe_events');
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
      expect(await store.highestSeq('before')).toBe(1);
      expect(await store.loadState('s')).toBeUndefined();
      expect((await store.readJournal({ afterOffset: 0, limit: 100 })).map((e) => e.payload)).toEqual([
        'kept',
      ]);
      // The store (and its pool's connections) are still usable.
      expect(await store.write([events('a', 0, 'a1'), events('before', 1, 'fine')])).toEqual([
        { ok: true },
        { ok: true },
      ]);
    });

    it('rolls back the events of a batch when a later statement of it fails', async () => {
      const schema = freshSchema();
      const store = await open(schema);
      await raiseOnBoom(schema, 'troupe_states');
      await expect(
        store.write([
          events('a', 0, 'a1'),
          { kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'boom' },
        ]),
      ).rejects.toThrow(/boom/);
      expect(await store.highestSeq('a')).toBe(0);
      expect(await store.readEvents('a', 1, 10)).toEqual([]);
      expect(await store.readJournal({ afterOffset: 0, limit: 10 })).toEqual([]);
      expect(await store.loadState('s')).toBeUndefined();
    });

    it('lets exactly one of two store objects on the same schema win the same expectation', async () => {
      const schema = freshSchema();
      const one = await open(schema);
      const two = await open(schema);
      for (let round = 0; round < 20; round++) {
        const pid = `race-${round}`;
        const results = await Promise.all([
          one.write([
            events(pid, 0, 'from-one'),
            { kind: 'state', persistenceId: pid, expectedRevision: 0, payload: 'one' },
          ]),
          two.write([
            events(pid, 0, 'from-two'),
            { kind: 'state', persistenceId: pid, expectedRevision: 0, payload: 'two' },
          ]),
        ]);
        const winner = results[0]?.[0]?.ok === true ? 'one' : 'two';
        expect(results[winner === 'one' ? 0 : 1]).toEqual([{ ok: true }, { ok: true }]);
        expect(results[winner === 'one' ? 1 : 0]).toEqual([
          { ok: false, actual: 1 },
          { ok: false, actual: 1 },
        ]);
        expect((await one.readEvents(pid, 1, 10)).map((e) => e.payload)).toEqual([`from-${winner}`]);
        expect(await two.loadState(pid)).toEqual({ revision: 1, payload: winner });
      }
    });

    it('makes offsets visible in commit order under concurrent writers', async () => {
      const schema = freshSchema();
      // Opened one after the other: this test is about the writes, not about creating the tables.
      const writers = [await open(schema), await open(schema), await open(schema), await open(schema)];
      const reader = await open(schema);
      const seen: number[] = [];
      let after = 0;
      let done = false;
      const poll = (async () => {
        while (!done) {
          const page = await reader.readJournal({ afterOffset: after, limit: 1000 });
          for (const entry of page) seen.push(entry.offset);
          after = page.at(-1)?.offset ?? after;
        }
      })();
      await Promise.all(
        writers.map(async (store, w) => {
          for (let i = 0; i < 50; i++) {
            expect(await store.write([events(`w${w}`, i * 3, 'x', 'y', 'z')])).toEqual([{ ok: true }]);
          }
        }),
      );
      done = true;
      await poll;
      for (const entry of await reader.readJournal({ afterOffset: after, limit: 1000 }))
        seen.push(entry.offset);
      // A reader that resumes after the last offset it saw misses nothing.
      expect(seen).toHaveLength(writers.length * 50 * 3);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('lets the calls in flight settle before close, then refuses', async () => {
      const store = await openIn(freshSchema());
      const write = store.write([events('a', 0, '1', '2')]);
      const closed = store.close();
      expect(await write).toEqual([{ ok: true }]);
      await closed;
      await expect(store.highestSeq('a')).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.saveCheckpoint('p', 1)).rejects.toBeInstanceOf(StoreClosedError);
      const again = await open(schemaOf.get(store) ?? '');
      expect(await again.highestSeq('a')).toBe(2);
    });

    it('migrates a schema made by the previous code: everything is kept, snapshots get timestamp 0', async () => {
      const schema = freshSchema();
      const q = `"${schema}"`;
      // The tables exactly as the code before schema versions created them.
      await admin(async (client) => {
        await client.query(`CREATE SCHEMA ${q}`);
        await client.query(`
          CREATE TABLE ${q}.troupe_events ("offset" BIGSERIAL PRIMARY KEY, persistence_id TEXT NOT NULL,
            seq BIGINT NOT NULL, payload TEXT NOT NULL, tags TEXT[] NOT NULL, timestamp BIGINT NOT NULL,
            UNIQUE (persistence_id, seq));
          CREATE TABLE ${q}.troupe_ids (persistence_id TEXT PRIMARY KEY, highest_seq BIGINT NOT NULL,
            deleted_to BIGINT NOT NULL DEFAULT 0);
          CREATE TABLE ${q}.troupe_snapshots (persistence_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, payload TEXT NOT NULL);
          CREATE TABLE ${q}.troupe_states (persistence_id TEXT PRIMARY KEY, revision BIGINT NOT NULL, payload TEXT NOT NULL);
          CREATE TABLE ${q}.troupe_checkpoints (projection_id TEXT PRIMARY KEY, "offset" BIGINT NOT NULL);
          INSERT INTO ${q}.troupe_events (persistence_id, seq, payload, tags, timestamp)
            SELECT 'acct-1', s, '{"type":"deposited","amount":10}', ARRAY['t'], 1000 FROM generate_series(1, 6) s;
          INSERT INTO ${q}.troupe_ids VALUES ('acct-1', 6, 0);
          INSERT INTO ${q}.troupe_snapshots VALUES ('acct-1', 4, '{"balance":40,"history":4}');
          INSERT INTO ${q}.troupe_states VALUES ('cart', 3, '{"items":["x"]}');
          INSERT INTO ${q}.troupe_checkpoints VALUES ('p', 5);`);
      });
      // Two stores opening it at once: one migrates under the lock, the other finds it done.
      const [store, other] = await Promise.all([open(schema), open(schema)]);
      expect(await store.loadSnapshot('acct-1')).toEqual({
        seq: 4,
        timestamp: 0,
        payload: '{"balance":40,"history":4}',
      });
      expect(await other.loadState('cart')).toEqual({ revision: 3, payload: '{"items":["x"]}' });
      expect(await store.loadCheckpoint('p')).toBe(5);
      expect(await store.highestSeq('acct-1')).toBe(6);
      expect((await store.readJournal({ afterOffset: 0, limit: 10, tag: 't' })).length).toBe(6);
      await store.saveSnapshot('acct-1', { seq: 6, payload: '{"balance":60,"history":6}', timestamp: 5 });
      expect((await store.loadSnapshot('acct-1', { maxTimestamp: 4 }))?.seq).toBe(4);
      expect((await store.loadSnapshot('acct-1'))?.seq).toBe(6);
      expect(
        await store.write([{ kind: 'deleteState', persistenceId: 'cart', expectedRevision: 3 }]),
      ).toEqual([{ ok: true }]);
      expect(await other.loadState('cart')).toEqual({ revision: 4, payload: '', deleted: true });
      const version = await admin((c) => c.query(`SELECT version FROM ${q}.troupe_schema_version`));
      expect(version.rows).toEqual([{ version: 3 }]);
      // And a schema from a newer version of the package is refused.
      await admin((c) => c.query(`UPDATE ${q}.troupe_schema_version SET version = 99`));
      await expect(openIn(schema)).rejects.toThrow(/version 99, newer than this version/);
    });

    it('reports every bad option at once', async () => {
      const error = await postgresStore({
        schema: 'bad schema',
        maxConnections: 0,
        connectionString: 5 as never,
        pool: 'x' as never,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).errors).toHaveLength(4);
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(
        postgresStore({ connectionString: PG_TEST_URL, schema: 'x"; DROP TABLE y; --' }),
      ).rejects.toBeInstanceOf(TypeError);
      await expect(postgresStore({ connectionString: PG_TEST_URL, schema: '1abc' })).rejects.toBeInstanceOf(
        TypeError,
      );
    });
  });
});

describe('postgresStore without pg installed', () => {
  afterEach(() => {
    vi.doUnmock('pg');
    vi.resetModules();
  });

  it('says how to install it', async () => {
    vi.resetModules();
    vi.doMock('pg', () => {
      throw new Error("Cannot find package 'pg'");
    });
    const { postgresStore: lazy } = await import('../src/stores/postgres-store.js');
    await expect(lazy({ schema: 'x' })).rejects.toThrow('install pg (npm install pg) to use postgresStore');
  });
});
