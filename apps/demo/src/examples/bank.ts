/**
 * Command-query separation with event sourcing (seed 002): commands go to event-sourced
 * account actors, whose events are stored in SQLite; queries go to a read model that a
 * projection builds from those events. Run it twice: the accounts recover their balances
 * from the file, and the projection resumes from its checkpoint.
 *
 *   pnpm example apps/demo/src/examples/bank.ts        (BANK_DB=path to choose the file)
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Effect, eventSourced, projection, sqliteStore } from '@troupe/persistence';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';

// ---- the write side: accounts -------------------------------------------------------------
type Reply = { type: 'done'; balance: number } | { type: 'rejected'; why: string };
type Command =
  | { type: 'deposit'; amount: number; replyTo: ActorRef<Reply> }
  | { type: 'withdraw'; amount: number; replyTo: ActorRef<Reply> }
  | { type: 'balance'; replyTo: ActorRef<Reply> };
type Event = { type: 'deposited'; amount: number } | { type: 'withdrawn'; amount: number };

const store = sqliteStore({ path: process.env.BANK_DB ?? join(tmpdir(), 'troupe-bank.db') });

const account = (id: string) =>
  eventSourced<Command, Event, number>({
    persistenceId: `account-${id}`,
    store,
    emptyState: 0,
    commandHandler: (balance, cmd) => {
      if (cmd.type === 'balance') return Effect.none(() => cmd.replyTo.tell({ type: 'done', balance }));
      if (cmd.type === 'withdraw' && cmd.amount > balance) {
        return Effect.none(() => cmd.replyTo.tell({ type: 'rejected', why: `balance is ${balance}` }));
      }
      const event: Event =
        cmd.type === 'deposit'
          ? { type: 'deposited', amount: cmd.amount }
          : { type: 'withdrawn', amount: cmd.amount };
      // The reply runs only once the event is committed.
      return Effect.persist(event, (next) => cmd.replyTo.tell({ type: 'done', balance: next }));
    },
    eventHandler: (balance, event) =>
      event.type === 'deposited' ? balance + event.amount : balance - event.amount,
    snapshotEvery: 100,
  });

// ---- the read side: a read model, fed by a projection --------------------------------------
type Query =
  | { type: 'applied'; account: string; seq: number; delta: number }
  | { type: 'summary'; replyTo: ActorRef<Summary> };
type Summary = { type: 'summary'; total: number; richest: string; events: number };

const readModel = receive<Map<string, { balance: number; seq: number }>, Query>(new Map(), (rows, q) => {
  if (q.type === 'applied') {
    const row = rows.get(q.account) ?? { balance: 0, seq: 0 };
    // At-least-once delivery: an event seen again (after a crash) is skipped by its seq.
    if (q.seq > row.seq) rows.set(q.account, { balance: row.balance + q.delta, seq: q.seq });
    return rows;
  }
  let total = 0;
  let richest = '-';
  let best = Number.NEGATIVE_INFINITY;
  let events = 0;
  for (const [name, row] of rows) {
    total += row.balance;
    events += row.seq;
    if (row.balance > best) [best, richest] = [row.balance, name];
  }
  q.replyTo.tell({ type: 'summary', total, richest, events });
  return rows;
});

const system = ActorSystem.start({ name: 'bank' });
const model = system.spawn(readModel, { name: 'read-model' });
// The read model lives in memory, so it is rebuilt from the start of the journal at each run
// (a fresh projection id); a read model in a database would keep one id and resume.
system.spawn(
  projection<Event>({
    projectionId: `balances-${process.pid}`,
    store,
    persistenceIdPrefix: 'account-',
    handler: ({ event, persistenceId, seq }) => {
      const delta = event.type === 'deposited' ? event.amount : -event.amount;
      model.tell({ type: 'applied', account: persistenceId.slice('account-'.length), seq, delta });
    },
  }),
  { name: 'balances' },
);

const names = ['alice', 'bob', 'carol'];
const accounts = new Map(names.map((name) => [name, system.spawn(account(name), { name })]));
const ask = (name: string, build: (replyTo: ActorRef<Reply>) => Command) =>
  (accounts.get(name) as ActorRef<Command>).ask<Reply>(build);

const before = await Promise.all(names.map((name) => ask(name, (replyTo) => ({ type: 'balance', replyTo }))));
console.log(
  'recovered balances:',
  Object.fromEntries(names.map((n, i) => [n, (before[i] as { balance: number }).balance])),
);

await ask('alice', (replyTo) => ({ type: 'deposit', amount: 100, replyTo }));
await ask('bob', (replyTo) => ({ type: 'deposit', amount: 40, replyTo }));
const refused = await ask('carol', (replyTo) => ({ type: 'withdraw', amount: 1_000_000, replyTo }));
console.log('carol withdraws 1,000,000:', refused.type === 'rejected' ? `rejected (${refused.why})` : 'done');
await ask('alice', (replyTo) => ({ type: 'withdraw', amount: 30, replyTo }));

// Queries go to the read model, which catches up with the journal (eventually consistent).
const stored = (
  await store.readJournal({ afterOffset: 0, limit: 1_000_000, persistenceIdPrefix: 'account-' })
).length;
let summary: Summary;
do {
  summary = await model.ask<Summary>((replyTo) => ({ type: 'summary', replyTo }));
} while (summary.events < stored);
console.log(
  `read model: total ${summary.total}, richest ${summary.richest}, built from ${summary.events} events`,
);

await system.shutdown();
await store.close();
