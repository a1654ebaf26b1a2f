/**
 * P1–P3: persistent actors against the raw database clients, in the same run.
 *
 * P1  100,000 commands to 100 event-sourced actors on SQLite, each persisting one event and
 *     replying after its commit, against raw better-sqlite3 inserting the same rows, one
 *     transaction per event. Both: WAL, synchronous FULL (each commit durable on power loss).
 * P2  recovery of one actor with 100,000 stored events: without snapshots, and with a snapshot
 *     every 1,000 events, against raw better-sqlite3 reading and folding the same rows.
 * P3  P1 on PostgreSQL, against raw pg (a pool of 10, one transaction per event, 100 writers
 *     in flight) and nact's spawnPersistent with nact-persistence-postgres.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Effect, eventSourced, type PersistenceStore, postgresStore, sqliteStore } from '@troupe/persistence';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import Database from 'better-sqlite3';
import type { Measurement, Scenario } from '../scenario.js';

const ACTORS = 100;
const PG_URL = process.env.TROUPE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let run = 0;

// ---- the workload, on Troupe --------------------------------------------------------------

type Reply = { type: 'ok' };
type Add = { type: 'add'; replyTo: ActorRef<Reply> };

/** n commands spread over ACTORS event-sourced counters; resolves when every reply arrived. */
async function troupeCommands(store: PersistenceStore, n: number): Promise<Measurement> {
  const system = ActorSystem.start({ name: `p${++run}` });
  try {
    const per = n / ACTORS;
    let replies = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const sink = system.spawn(
      receive<null, Reply>(null, (s) => {
        if (++replies === n) resolveDone();
        return s;
      }),
      { mailbox: { capacity: n } },
    );
    const actors = Array.from({ length: ACTORS }, (_, i) =>
      system.spawn(
        eventSourced<Add, { type: 'added'; i: number }, number>({
          persistenceId: `counter-${run}-${i}`,
          store,
          emptyState: 0,
          commandHandler: (count, cmd) =>
            Effect.persist({ type: 'added', i: count + 1 }, () => cmd.replyTo.tell({ type: 'ok' })),
          eventHandler: (count) => count + 1,
        }),
        { mailbox: { capacity: per } },
      ),
    );
    const start = process.hrtime.bigint();
    for (let k = 0; k < per; k++) for (const actor of actors) actor.tell({ type: 'add', replyTo: sink });
    await done;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    for (let i = 0; i < ACTORS; i++) {
      const seq = await store.highestSeq(`counter-${run}-${i}`);
      if (seq !== per) throw new Error(`counter ${i}: ${seq} events stored, expected ${per}`);
    }
    return { metric: 'throughput', unit: 'cmds/s', value: n / seconds };
  } finally {
    await system.shutdown();
  }
}

// ---- P1: SQLite ---------------------------------------------------------------------------

function tempDb(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  return { path: join(dir, 'bench.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function p1Troupe(n: number): Promise<Measurement> {
  const db = tempDb();
  const store = sqliteStore({ path: db.path, synchronous: 'full' });
  try {
    return await troupeCommands(store, n);
  } finally {
    await store.close();
    db.cleanup();
  }
}

async function p1Raw(n: number): Promise<Measurement> {
  const file = tempDb();
  const db = new Database(file.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE events (offset INTEGER PRIMARY KEY AUTOINCREMENT, persistence_id TEXT NOT NULL,
      seq INTEGER NOT NULL, payload TEXT NOT NULL, tags TEXT NOT NULL, timestamp INTEGER NOT NULL,
      UNIQUE (persistence_id, seq))`);
    const insert = db.prepare(
      'INSERT INTO events (persistence_id, seq, payload, tags, timestamp) VALUES (?, ?, ?, ?, ?)',
    );
    const one = db.transaction((pid: string, seq: number) =>
      insert.run(pid, seq, JSON.stringify({ type: 'added', i: seq }), '[]', Date.now()),
    );
    const per = n / ACTORS;
    let replies = 0;
    const start = process.hrtime.bigint();
    for (let k = 1; k <= per; k++) {
      for (let a = 0; a < ACTORS; a++) {
        one(`counter-${a}`, k); // committed (fsync) when it returns: then the "reply"
        replies++;
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rows = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    if (rows !== n || replies !== n) throw new Error(`raw: ${rows} rows, ${replies} replies, expected ${n}`);
    return { metric: 'throughput', unit: 'cmds/s', value: n / seconds };
  } finally {
    db.close();
    file.cleanup();
  }
}

// ---- P2: recovery -------------------------------------------------------------------------

type Get = { type: 'get'; replyTo: ActorRef<{ type: 'count'; count: number }> };

/** Writes n events for one persistence id (and, with `snapshotEvery`, the snapshots an actor would have saved). */
async function seed(path: string, n: number, snapshotEvery: number): Promise<void> {
  const store = sqliteStore({ path, synchronous: 'normal' });
  try {
    for (let seq = 0; seq < n; seq += 1000) {
      const events = Array.from({ length: Math.min(1000, n - seq) }, (_, k) => ({
        payload: JSON.stringify({ type: 'added', i: seq + k + 1 }),
      }));
      await store.write([{ kind: 'events', persistenceId: 'big', expectedSeq: seq, events }]);
      const at = seq + events.length;
      if (snapshotEvery > 0 && at % snapshotEvery === 0) {
        await store.saveSnapshot('big', { seq: at, payload: JSON.stringify(at) });
      }
    }
  } finally {
    await store.close();
  }
}

async function recovery(n: number, snapshotEvery: number): Promise<Measurement[]> {
  const db = tempDb();
  try {
    await seed(db.path, n, snapshotEvery);
    const store = sqliteStore({ path: db.path });
    const system = ActorSystem.start({ name: `p2-${++run}` });
    try {
      const start = process.hrtime.bigint();
      const ref = system.spawn(
        eventSourced<Get, { type: 'added'; i: number }, number>({
          persistenceId: 'big',
          store,
          emptyState: 0,
          commandHandler: (count, cmd) => Effect.none(() => cmd.replyTo.tell({ type: 'count', count })),
          eventHandler: (count, event) => (event.i === count + 1 ? event.i : Number.NaN),
          ...(snapshotEvery > 0 ? { snapshotEvery } : {}),
        }),
      );
      const reply = await ref.ask<{ type: 'count'; count: number }>((replyTo) => ({ type: 'get', replyTo }), {
        timeoutMs: 60_000,
      });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (reply.count !== n) throw new Error(`recovered ${reply.count}, expected ${n}`);
      return [
        { metric: 'time to first message', unit: 'ms', value: seconds * 1000 },
        { metric: 'recovered', unit: 'events/s', value: n / seconds },
      ];
    } finally {
      await system.shutdown();
      await store.close();
    }
  } finally {
    db.cleanup();
  }
}

async function p2Raw(n: number): Promise<Measurement[]> {
  const db = tempDb();
  try {
    await seed(db.path, n, 0);
    const start = process.hrtime.bigint();
    const conn = new Database(db.path, { readonly: true });
    let count = 0;
    for (const row of conn
      .prepare('SELECT payload FROM troupe_events WHERE persistence_id = ? ORDER BY seq')
      .iterate('big') as Iterable<{ payload: string }>) {
      const event = JSON.parse(row.payload) as { i: number };
      count = event.i === count + 1 ? event.i : Number.NaN;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    conn.close();
    if (count !== n) throw new Error(`raw: folded ${count}, expected ${n}`);
    return [
      { metric: 'time to first message', unit: 'ms', value: seconds * 1000 },
      { metric: 'recovered', unit: 'events/s', value: n / seconds },
    ];
  } finally {
    db.cleanup();
  }
}

// ---- P3: PostgreSQL -----------------------------------------------------------------------

async function withSchema<T>(work: (schema: string) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const schema = `troupe_bench_${process.pid}_${++run}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    return await work(schema);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

async function p3Troupe(n: number): Promise<Measurement> {
  return withSchema(async (schema) => {
    const store = await postgresStore({ connectionString: PG_URL, schema });
    try {
      return await troupeCommands(store, n);
    } finally {
      await store.close();
    }
  });
}

async function p3Raw(n: number): Promise<Measurement> {
  const { default: pg } = await import('pg');
  return withSchema(async (schema) => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
    try {
      await pool.query(`CREATE TABLE ${schema}.events (ordering BIGSERIAL PRIMARY KEY, persistence_id TEXT NOT NULL,
        seq BIGINT NOT NULL, payload TEXT NOT NULL, tags TEXT[] NOT NULL, timestamp BIGINT NOT NULL,
        UNIQUE (persistence_id, seq))`);
      const per = n / ACTORS;
      const start = process.hrtime.bigint();
      // 100 writers, like the 100 actors: each inserts its events in order. One statement on
      // the pool is its own transaction (autocommit), committed when the query resolves.
      const insert = `INSERT INTO ${schema}.events (persistence_id, seq, payload, tags, timestamp) VALUES ($1, $2, $3, $4, $5)`;
      await Promise.all(
        Array.from({ length: ACTORS }, async (_, a) => {
          for (let k = 1; k <= per; k++) {
            await pool.query(insert, [
              `counter-${a}`,
              k,
              JSON.stringify({ type: 'added', i: k }),
              [],
              Date.now(),
            ]);
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const rows = Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.events`)).rows[0].n);
      if (rows !== n) throw new Error(`raw pg: ${rows} rows, expected ${n}`);
      return { metric: 'throughput', unit: 'cmds/s', value: n / seconds };
    } finally {
      await pool.end();
    }
  });
}

async function p3Nact(n: number): Promise<Measurement> {
  const nact = await import('nact');
  const engineModule = 'nact-persistence-postgres'; // untyped: imported by name
  const { PostgresPersistenceEngine } = (await import(engineModule)) as {
    PostgresPersistenceEngine: new (
      url: string,
      options: { schema: string; createIfNotExists: boolean },
    ) => object;
  };
  return withSchema(async (schema) => {
    const engine = new PostgresPersistenceEngine(PG_URL, { schema, createIfNotExists: true });
    const system = nact.start(nact.configurePersistence(engine as never));
    try {
      const per = n / ACTORS;
      let replies = 0;
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => {
        resolveDone = resolve;
      });
      const sink = nact.spawnStateless(system, () => {
        if (++replies === n) resolveDone();
      });
      const actors = Array.from({ length: ACTORS }, (_, i) =>
        nact.spawnPersistent(
          system,
          async (state: number = 0, msg: { type: 'add' }, context) => {
            // nact 7's typings give the plain context; at run time it is the persistent one.
            const ctx = context as unknown as {
              recovering?: boolean;
              persist: (m: unknown) => Promise<void>;
            };
            if (!ctx.recovering) {
              await ctx.persist(msg); // nact: persist, then reply
              nact.dispatch(sink, { type: 'ok' });
            }
            return state + 1;
          },
          `counter-${run}-${i}`,
          `counter-${i}`,
        ),
      );
      const start = process.hrtime.bigint();
      for (let k = 0; k < per; k++) for (const actor of actors) nact.dispatch(actor, { type: 'add' });
      await done;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const { default: pg } = await import('pg');
      const check = new pg.Client({ connectionString: PG_URL });
      await check.connect();
      const rows = Number((await check.query(`SELECT count(*) AS n FROM ${schema}.event_journal`)).rows[0].n);
      await check.end();
      if (rows !== n) throw new Error(`nact: ${rows} events stored, expected ${n}`);
      return { metric: 'throughput', unit: 'cmds/s', value: n / seconds };
    } finally {
      nact.stop(system);
    }
  });
}

export const p1Sqlite: Scenario = {
  id: 'P1',
  title: 'event-sourced actors on SQLite: 100,000 commands to 100 actors, one event each, reply after commit',
  size: 100_000,
  warmupSize: 2_000,
  timeoutMs: 180_000,
  better: 'higher',
  notes: [
    'From the first command to the last reply. Both on a fresh file: WAL, synchronous FULL (each commit is durable on power loss).',
    'troupe: `eventSourced` on `sqliteStore`; group commit puts the events of every actor in one turn into one transaction, each actor replies after its own commit.',
    'raw better-sqlite3 12: the same rows (same table shape, JSON payload), one transaction per event, the "reply" when it returns.',
    'nact has no SQLite persistence engine, so it is a peer only in P3.',
  ],
  systems: { troupe: p1Troupe, 'raw better-sqlite3': p1Raw },
};

export const p2Recovery: Scenario = {
  id: 'P2',
  title: 'recovery of one event-sourced actor with 100,000 stored events (SQLite), until its first reply',
  size: 100_000,
  warmupSize: 10_000,
  timeoutMs: 180_000,
  better: { 'time to first message': 'lower', recovered: 'higher' },
  notes: [
    'From `spawn` to the reply to its first message (which waited in the mailbox during recovery).',
    'troupe: replays every event through the event handler (pages of 1,000). troupe+snapshots: the same actor with a snapshot every 1,000 events (the latest, at 100,000, is loaded; nothing to replay).',
    'raw better-sqlite3: one query iterating the same rows, JSON.parse and fold: the floor for a replay.',
  ],
  systems: {
    troupe: (n) => recovery(n, 0),
    'troupe+snapshots': (n) => recovery(n, 1000),
    'raw better-sqlite3': p2Raw,
  },
};

export const p3Postgres: Scenario = {
  id: 'P3',
  title:
    'event-sourced actors on PostgreSQL: 100,000 commands to 100 actors, one event each, reply after commit',
  size: 100_000,
  warmupSize: 2_000,
  timeoutMs: 300_000,
  better: 'higher',
  notes: [
    'PostgreSQL 15 on the same machine (synchronous_commit on, the default). Each system in its own fresh schema.',
    'troupe: `eventSourced` on `postgresStore` (group commit: one transaction per batch).',
    'raw pg 8: a Pool of 10, 100 writers in flight (one per actor), each event one INSERT on the pool (autocommit: its own transaction).',
    "nact 7 `spawnPersistent` with nact-persistence-postgres 8 (its docs' engine): `ctx.persist` (one INSERT each), then the reply.",
  ],
  systems: { troupe: p3Troupe, 'raw pg': p3Raw, nact: p3Nact },
};
