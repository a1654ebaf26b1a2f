/**
 * A process with one durable-state cart on a SQLite file, for the "a later start in a new process"
 * test (behaviours-on-stores.test.ts):
 *
 *   durable-node.ts <db> <command>…   commands: `add:<item>`, `clear`
 *
 * Starts the cart (recovering whatever is stored), prints `start <items> <revision>`, runs the
 * commands one after the other, prints `end <items> <revision>`, and exits.
 */
import { type ActorRef, ActorSystem } from '@troupe/runtime';
import { durableState, Effect, sqliteStore } from '../../src/index.js';

type Reply = { type: 'items'; items: readonly string[] };
type Msg =
  | { type: 'add'; item: string; replyTo: ActorRef<Reply> }
  | { type: 'clear'; replyTo: ActorRef<Reply> }
  | { type: 'get'; replyTo: ActorRef<Reply> };

const [path, ...commands] = process.argv.slice(2) as [string, ...string[]];
const store = sqliteStore({ path });
const system = ActorSystem.start({ name: 'durable' });
const cart = system.spawn(
  durableState<Msg, { items: readonly string[] }>({
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
  }),
  { name: 'cart' },
);

const ask = (make: (replyTo: ActorRef<Reply>) => Msg) => cart.ask<Reply>(make, { timeoutMs: 10_000 });
const line = async (label: string) => {
  const { items } = await ask((replyTo) => ({ type: 'get', replyTo }));
  const revision = (await store.loadState('cart'))?.revision ?? 0;
  process.stdout.write(`${label} ${items.join(',') || '-'} ${revision}\n`);
};

await line('start');
for (const command of commands) {
  if (command === 'clear') await ask((replyTo) => ({ type: 'clear', replyTo }));
  else await ask((replyTo) => ({ type: 'add', item: command.slice('add:'.length), replyTo }));
}
await line('end');
await system.shutdown();
await store.close();
