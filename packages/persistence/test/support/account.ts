/** A bank account as an event-sourced actor: the fixture of the persistence tests. */
import type { ActorRef } from '@troupe/runtime';
import { Effect, type EventSourcedOptions, eventSourced, type PersistenceStore } from '../../src/index.js';

export type AccountReply =
  | { readonly type: 'balance'; readonly balance: number; readonly seq?: number }
  | { readonly type: 'rejected'; readonly why: string };

export type AccountCommand =
  | { readonly type: 'deposit'; readonly amount: number; readonly replyTo?: ActorRef<AccountReply> }
  | { readonly type: 'withdraw'; readonly amount: number; readonly replyTo?: ActorRef<AccountReply> }
  | { readonly type: 'balance'; readonly replyTo: ActorRef<AccountReply> }
  | { readonly type: 'crash' }
  | { readonly type: 'frozen' };

export type AccountEvent =
  | { readonly type: 'deposited'; readonly amount: number }
  | { readonly type: 'withdrawn'; readonly amount: number };

export interface AccountState {
  readonly balance: number;
  readonly history: number;
}

export const applyAccountEvent = (state: AccountState, event: AccountEvent): AccountState => ({
  balance: state.balance + (event.type === 'deposited' ? event.amount : -event.amount),
  history: state.history + 1,
});

export function account(
  persistenceId: string,
  store: PersistenceStore,
  extra: Partial<EventSourcedOptions<AccountCommand, AccountEvent, AccountState>> = {},
) {
  return eventSourced<AccountCommand, AccountEvent, AccountState>({
    persistenceId,
    store,
    emptyState: { balance: 0, history: 0 },
    commandHandler: (state, command) => {
      switch (command.type) {
        case 'deposit':
          return Effect.persist({ type: 'deposited', amount: command.amount }, (next) =>
            command.replyTo?.tell({ type: 'balance', balance: next.balance }),
          );
        case 'withdraw':
          if (command.amount > state.balance) {
            return Effect.none(() => command.replyTo?.tell({ type: 'rejected', why: 'insufficient funds' }));
          }
          return Effect.persist({ type: 'withdrawn', amount: command.amount }, (next) =>
            command.replyTo?.tell({ type: 'balance', balance: next.balance }),
          );
        case 'balance':
          return Effect.none(() => command.replyTo.tell({ type: 'balance', balance: state.balance }));
        case 'crash':
          throw new Error('crash requested');
        case 'frozen':
          return Effect.unhandled();
      }
    },
    eventHandler: applyAccountEvent,
    ...extra,
  });
}

export const balanceOf = async (ref: ActorRef<AccountCommand>): Promise<number> => {
  const reply = await ref.ask<AccountReply>((replyTo) => ({ type: 'balance', replyTo }), { timeoutMs: 5000 });
  if (reply.type !== 'balance') throw new Error(`unexpected ${reply.type}`);
  return reply.balance;
};

export const deposit = async (ref: ActorRef<AccountCommand>, amount: number): Promise<number> => {
  const reply = await ref.ask<AccountReply>((replyTo) => ({ type: 'deposit', amount, replyTo }), {
    timeoutMs: 5000,
  });
  if (reply.type !== 'balance') throw new Error(`unexpected ${reply.type}`);
  return reply.balance;
};
