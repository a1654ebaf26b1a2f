import { type ActorContext, type Behavior, type Message, receive } from '@troupe/runtime';
import { decode, encode } from './codec.js';
import type { Effect } from './effect.js';
import { DecodeError } from './errors.js';
import { groupCommitOf } from './group-commit.js';
import type { PersistenceStore } from './store.js';

/** Options of {@link durableState}. */
export interface DurableStateOptions<M extends Message, S> {
  readonly persistenceId: string;
  readonly store: PersistenceStore;
  /** The state when nothing is stored yet. Treated as immutable. */
  readonly emptyState: S;
  /**
   * Handles one message: `Effect.persist(nextState, then?)` stores the whole new state (it
   * must be JSON), `Effect.none(then?)` keeps it, `Effect.unhandled()` refuses the message.
   */
  readonly handler: (state: S, message: M, ctx: ActorContext<M>) => Effect<S, S>;
  /** Upgrades a stored state of an older shape (default: as stored). A throw is a `DecodeError`. */
  readonly fromStored?: (
    stored: unknown,
    meta: { readonly persistenceId: string; readonly revision: number },
  ) => S;
  readonly onRecovered?: (state: S, ctx: ActorContext<M>) => void;
}

interface Revisioned<S> {
  state: S;
  revision: number;
}

/**
 * A durable-state actor (Akka's `DurableStateBehavior`): after each message that changes
 * it, the whole state is stored (upserted by revision) before it takes effect and before
 * `then` runs. At every start (spawn, supervised restart, a new process) it loads the stored
 * state; messages wait in the mailbox meanwhile. Writes carry the revision they expect, so
 * two incarnations cannot both write: the loser fails with `ConcurrencyError` and its restart
 * loads the winner's state. A failed write fails the actor (the message becomes a `failed`
 * dead letter, the state is unchanged). Writes of many actors in one turn share a transaction.
 */
export function durableState<M extends Message, S>(options: DurableStateOptions<M, S>): Behavior<M> {
  if (typeof options.persistenceId !== 'string' || options.persistenceId.length === 0) {
    throw new TypeError('durableState: persistenceId must be a non-empty string');
  }
  if (typeof options.handler !== 'function') {
    throw new TypeError(`durableState(${options.persistenceId}): handler must be a function`);
  }
  const { persistenceId: pid, store, handler, fromStored } = options;
  const commit = groupCommitOf(store);

  const recover = async (ctx: ActorContext<M>): Promise<Revisioned<S>> => {
    const stored = await store.loadState(pid);
    const current: Revisioned<S> = { state: options.emptyState, revision: 0 };
    if (stored !== undefined) {
      const what = `state revision ${stored.revision}`;
      const value = decode(stored.payload, pid, what, stored.revision);
      current.state =
        fromStored === undefined ? (value as S) : upgrade(fromStored, value, pid, stored.revision);
      current.revision = stored.revision;
    }
    options.onRecovered?.(current.state, ctx);
    return current;
  };

  return receive<Revisioned<S>, M>(
    { state: options.emptyState, revision: 0 },
    (current, message, ctx) => {
      const effect = handler(current.state, message, ctx);
      if (effect.kind === 'unhandled') {
        ctx.unhandled();
        return current;
      }
      if (effect.kind === 'none') {
        effect.then?.(current.state);
        return current;
      }
      const next = effect.value;
      const payload = encode(next, `${pid}: the state`);
      return commit
        .submit({ kind: 'state', persistenceId: pid, expectedRevision: current.revision, payload })
        .then(() => {
          current.state = next;
          current.revision++;
          effect.then?.(next);
          return current;
        });
    },
    {
      onStart: recover,
      describe: (current) => ({ persistenceId: pid, revision: current.revision }),
    },
  );
}

function upgrade<S>(
  fromStored: NonNullable<DurableStateOptions<Message, S>['fromStored']>,
  value: unknown,
  pid: string,
  revision: number,
): S {
  try {
    return fromStored(value, { persistenceId: pid, revision });
  } catch (cause) {
    throw new DecodeError(pid, `state revision ${revision}`, revision, { cause });
  }
}
