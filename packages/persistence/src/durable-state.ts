import { type ActorContext, type Behavior, type Message, OptionChecks, receive } from '@troupe/runtime';
import { optionalFunction, requireFunction, requireStore, requireString } from './checks.js';
import { decode, encode } from './codec.js';
import type { DurableEffect } from './effect.js';
import { DecodeError, RecoveryError } from './errors.js';
import { groupCommitOf } from './group-commit.js';
import type { PersistenceStore } from './store.js';

/** Options of {@link durableState}. */
export interface DurableStateOptions<M extends Message, S> {
  readonly persistenceId: string;
  readonly store: PersistenceStore;
  /** The state when nothing is stored yet (or after a delete). Treated as immutable. */
  readonly emptyState: S;
  /**
   * Handles one message: `Effect.persist(nextState, then?)` stores the whole new state (it
   * must be JSON), `Effect.delete(then?)` deletes it, `Effect.none(then?)` keeps it,
   * `Effect.unhandled()` refuses the message.
   */
  readonly handler: (state: S, message: M, ctx: ActorContext<M>) => DurableEffect<S>;
  /** Upgrades a stored state of an older shape (default: as stored). A throw is a `RecoveryError`. */
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
 *
 * - **Delete** (`Effect.delete(then?)`): the stored state is deleted; once that is committed
 *   the state is `emptyState` and `then(emptyState)` runs. Every later start — a restart, a new
 *   process — finds no state and starts from `emptyState`. **The revision continues**: the
 *   delete is stored as the next revision (a tombstone), and later writes go on from there, so
 *   an incarnation still holding a revision from before the delete cannot overwrite it (it
 *   fails with `ConcurrencyError`).
 * - **Recovery failures**: a stored state that cannot be decoded, or that `fromStored` throws
 *   on, is a `RecoveryError` (its `seq` is the stored revision, its `cause` a `DecodeError`) that
 *   fails the start; nothing is written after it.
 * - **Options** are checked at the call, every bad one reported at once.
 */
export function durableState<M extends Message, S>(options: DurableStateOptions<M, S>): Behavior<M> {
  validate(options);
  const { persistenceId: pid, store, handler, fromStored } = options;
  const commit = groupCommitOf(store);

  const recover = async (ctx: ActorContext<M>): Promise<Revisioned<S>> => {
    const stored = await store.loadState(pid);
    const current: Revisioned<S> = { state: options.emptyState, revision: 0 };
    if (stored !== undefined) {
      current.revision = stored.revision;
      if (stored.deleted !== true)
        current.state = readState(pid, stored.revision, stored.payload, fromStored);
    }
    options.onRecovered?.(current.state, ctx);
    return current;
  };

  return receive<Revisioned<S>, M>(
    { state: options.emptyState, revision: 0 },
    (current, message, ctx) => {
      const effect = handler(current.state, message, ctx);
      switch (effect.kind) {
        case 'unhandled':
          ctx.unhandled();
          return current;
        case 'none':
          effect.then?.(current.state);
          return current;
        case 'delete':
          return commit
            .submit({ kind: 'deleteState', persistenceId: pid, expectedRevision: current.revision })
            .then(() => {
              current.state = options.emptyState;
              current.revision++;
              effect.then?.(current.state);
              return current;
            });
        case 'persist': {
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
        }
        default:
          throw new TypeError(
            `durableState(${pid}): the handler returned ${describeEffect(effect)}; expected an Effect`,
          );
      }
    },
    {
      onStart: recover,
      describe: (current) => ({ persistenceId: pid, revision: current.revision }),
    },
  );
}

/** Decodes (and upgrades) a stored state; a failure is a `RecoveryError` caused by a `DecodeError`. */
function readState<S>(
  pid: string,
  revision: number,
  payload: string,
  fromStored: DurableStateOptions<Message, S>['fromStored'],
): S {
  const what = `state revision ${revision}`;
  try {
    const value = decode(payload, pid, what, revision);
    return fromStored === undefined ? (value as S) : upgrade(fromStored, value, pid, what, revision);
  } catch (error) {
    const cause = error as DecodeError; // decode and upgrade throw nothing else
    throw new RecoveryError(pid, revision, cause.message.slice(pid.length + 2), { cause });
  }
}

function upgrade<S>(
  fromStored: NonNullable<DurableStateOptions<Message, S>['fromStored']>,
  value: unknown,
  pid: string,
  what: string,
  revision: number,
): S {
  try {
    return fromStored(value, { persistenceId: pid, revision });
  } catch (cause) {
    throw new DecodeError(pid, what, revision, { cause });
  }
}

function validate<M extends Message, S>(options: DurableStateOptions<M, S>): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `durableState: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  const owner = `durableState(${typeof options.persistenceId === 'string' ? options.persistenceId : '?'})`;
  const checks = new OptionChecks(owner);
  checks.run(() => requireString('durableState', 'persistenceId', options.persistenceId), '');
  checks.run(() => requireStore(owner, options.store), undefined);
  checks.run(() => requireFunction(owner, 'handler', options.handler), undefined);
  checks.run(() => optionalFunction(owner, 'fromStored', options.fromStored), undefined);
  checks.run(() => optionalFunction(owner, 'onRecovered', options.onRecovered), undefined);
  checks.done();
}

function describeEffect(effect: unknown): string {
  if (effect === null || typeof effect !== 'object') return String(effect);
  const kind = (effect as { kind?: unknown }).kind;
  return typeof kind === 'string' ? `a '${kind}' effect` : 'an object that is not an Effect';
}
