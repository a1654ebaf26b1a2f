/**
 * A process that persists under load, for the SIGKILL test (crash.test.ts).
 *
 *   crash-node.ts write  <db> <accounts>   deposits forever; prints `ack <pid> <command>` per reply
 *   crash-node.ts verify <db> <accounts>   recovers each account, prints `state <pid> <balance> <commands>`,
 *                                          makes one more deposit each, prints `ack …`, exits
 *
 * Each deposit persists three events in one write (requested, deposited, audited), so a
 * partially stored command would show.
 */
import { type ActorRef, ActorSystem } from '@troupe/runtime';
import { Effect, eventSourced, sqliteStore } from '../../src/index.js';

type Reply = { type: 'ok'; balance: number; commands: number };
type Command =
  | { type: 'deposit'; id: number; replyTo: ActorRef<Reply> }
  | { type: 'get'; replyTo: ActorRef<Reply> };
type Event = { type: 'requested' | 'deposited' | 'audited'; id: number };
interface State {
  balance: number;
  commands: number;
}

const [mode, path, count] = process.argv.slice(2) as [string, string, string];
const store = sqliteStore({ path });
const system = ActorSystem.start({ name: 'crash' });

const accounts = Array.from({ length: Number(count) }, (_, i) =>
  system.spawn(
    eventSourced<Command, Event, State>({
      persistenceId: `acct-${i}`,
      store,
      emptyState: { balance: 0, commands: 0 },
      commandHandler: (state, command) =>
        command.type === 'get'
          ? Effect.none(() => command.replyTo.tell({ type: 'ok', ...state }))
          : Effect.persist(
              [
                { type: 'requested', id: command.id },
                { type: 'deposited', id: command.id },
                { type: 'audited', id: command.id },
              ],
              (next) => command.replyTo.tell({ type: 'ok', ...next }),
            ),
      eventHandler: (state, event) =>
        event.type === 'deposited' ? { balance: state.balance + 1, commands: state.commands + 1 } : state,
    }),
    { name: `acct-${i}` },
  ),
);

const out = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'write') {
  let next = 0;
  // Every account always has a few commands in flight: group commit has something to group.
  const loop = async (ref: ActorRef<Command>, pid: string) => {
    for (;;) {
      const id = ++next;
      await ref.ask<Reply>((replyTo) => ({ type: 'deposit', id, replyTo }), { timeoutMs: 30_000 });
      out(`ack ${pid} ${id}`);
    }
  };
  accounts.forEach((ref, i) => {
    for (let k = 0; k < 3; k++) void loop(ref, `acct-${i}`);
  });
} else {
  for (const [i, ref] of accounts.entries()) {
    const state = await ref.ask<Reply>((replyTo) => ({ type: 'get', replyTo }), { timeoutMs: 30_000 });
    out(`state acct-${i} ${state.balance} ${state.commands}`);
  }
  for (const [i, ref] of accounts.entries()) {
    const id = 1_000_000 + i;
    await ref.ask<Reply>((replyTo) => ({ type: 'deposit', id, replyTo }), { timeoutMs: 30_000 });
    out(`ack acct-${i} ${id}`);
  }
  await system.shutdown();
  await store.close();
}
