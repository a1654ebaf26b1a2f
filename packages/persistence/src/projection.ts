import { type ActorContext, type ActorRef, type Behavior, OptionChecks, receive } from '@troupe/runtime';
import {
  optionalFunction,
  optionalInteger,
  optionalPositive,
  optionalString,
  requireFunction,
  requireStore,
  requireString,
} from './checks.js';
import { type EventAdapter, readEvent } from './codec.js';
import type { JournalEntry, PersistenceStore } from './store.js';

/** One event as a projection's handler sees it: decoded, with where it sits in the journal. */
export interface ProjectedEvent<E> {
  readonly event: E;
  readonly persistenceId: string;
  readonly seq: number;
  /** Its journal offset: the checkpoint moves past it once the handler returned. */
  readonly offset: number;
  readonly tags: readonly string[];
  readonly timestamp: number;
}

/** Options of {@link projection}. */
export interface ProjectionOptions<E> {
  /** Names the checkpoint in the store: a projection with the same id resumes where the last one stopped. */
  readonly projectionId: string;
  readonly store: PersistenceStore;
  /** Only events of persistence ids starting with this. */
  readonly persistenceIdPrefix?: string;
  /** Only events carrying this tag. */
  readonly tag?: string;
  /**
   * Builds the read model from one event. Called in journal order, one event at a time; it may
   * be async. A throw fails the projection actor: its supervisor's restart resumes from the
   * checkpoint, so the event (and those after it in its batch) are handled again
   * (at-least-once: make the handler idempotent, e.g. keyed by persistence id and seq).
   */
  readonly handler: (event: ProjectedEvent<E>, ctx: ActorContext<ProjectionMessage>) => void | Promise<void>;
  /** Events read per query, and per checkpoint write (default 100). */
  readonly batchSize?: number;
  /** How often it polls for events written by other processes (default 1000 ms). Writes through the same store object wake it at once. */
  readonly pollMs?: number;
  readonly adapter?: EventAdapter<E>;
}

/**
 * What a projection actor accepts: `poll` (read now; sent by the projection itself) and
 * `status`, answered with `{ type: 'projectionStatus', offset }` (the checkpoint it has
 * reached and stored).
 */
export type ProjectionMessage =
  | { readonly type: 'poll' }
  | { readonly type: 'status'; readonly replyTo: ActorRef<ProjectionStatus> };

/** A projection's answer to `status`: the journal offset it has handled and checkpointed. */
export interface ProjectionStatus {
  readonly type: 'projectionStatus';
  readonly offset: number;
}

/** One incarnation's place in the journal, and what it holds. */
interface Tail {
  offset: number;
  /** A `poll` is queued (from a commit notice or the timer): further notices add none. */
  queued: boolean;
  /** Ends the store's commit notices; null until the first poll subscribes. */
  unsubscribe: (() => void) | null;
  /** False once the incarnation ended: a poll still in flight then stops where it is. */
  active: boolean;
}

/**
 * A projection (seed 002's query side): an actor that tails the store's journal — all events,
 * or those of a persistence-id prefix or a tag — in order, hands each to `handler` to build a
 * read model, and stores its checkpoint (the offset reached) after each batch. At-least-once
 * and resumable: after a crash or restart it reads again from the stored checkpoint.
 *
 * - **Start**: it loads its checkpoint, then polls. A store that fails there (or later, while
 *   reading, or saving the checkpoint) fails the projection, and its supervisor's restart
 *   resumes from the checkpoint.
 * - **Resources**: its subscription to the store's commit notices is taken by its first poll,
 *   once the start has succeeded, and given back when the incarnation ends (stop, restart, a
 *   failed start, a stop while the start is still loading): an incarnation never leaves a
 *   listener behind. A poll still in flight when the incarnation ends stops there: it handles
 *   no further event and saves no checkpoint.
 * - **Options** are checked at the call, every bad one reported at once.
 */
export function projection<E>(options: ProjectionOptions<E>): Behavior<ProjectionMessage> {
  const { batchSize, pollMs } = validate(options);
  const { projectionId, store, handler, adapter } = options;

  const wake = (tail: Tail, ctx: ActorContext<ProjectionMessage>): void => {
    if (tail.queued) return;
    tail.queued = true;
    ctx.self.tell({ type: 'poll' });
  };

  const poll = async (tail: Tail, ctx: ActorContext<ProjectionMessage>): Promise<Tail> => {
    tail.queued = false;
    tail.unsubscribe ??= store.onAppend(() => wake(tail, ctx));
    const query = { afterOffset: tail.offset, limit: batchSize } as {
      afterOffset: number;
      limit: number;
      persistenceIdPrefix?: string;
      tag?: string;
    };
    if (options.persistenceIdPrefix !== undefined) query.persistenceIdPrefix = options.persistenceIdPrefix;
    if (options.tag !== undefined) query.tag = options.tag;
    const batch = await store.readJournal(query);
    for (const entry of batch) {
      if (!tail.active) return tail;
      await handler(project(entry, adapter), ctx);
      tail.offset = entry.offset;
    }
    if (!tail.active) return tail;
    if (batch.length > 0) await store.saveCheckpoint(projectionId, tail.offset);
    if (!tail.active) return tail;
    if (batch.length === batchSize) wake(tail, ctx);
    else ctx.timers.startSingle('poll', { type: 'poll' }, pollMs);
    return tail;
  };

  const end = (tail: Tail): void => {
    tail.active = false;
    tail.unsubscribe?.();
    tail.unsubscribe = null;
  };

  return receive<Tail, ProjectionMessage>(
    { offset: 0, queued: false, unsubscribe: null, active: false },
    (tail, message, ctx) => {
      if (message.type === 'status') {
        message.replyTo.tell({ type: 'projectionStatus', offset: tail.offset });
        return tail;
      }
      return poll(tail, ctx);
    },
    {
      // Takes nothing that needs giving back: if this incarnation ends before it resolves, no
      // stop hook runs for it (it never got its state), so the subscription waits for a poll.
      onStart: async (ctx) => {
        const offset = await store.loadCheckpoint(projectionId);
        const tail: Tail = { offset, queued: false, unsubscribe: null, active: true };
        wake(tail, ctx);
        return tail;
      },
      onStop: end,
      onRestart: end,
      describe: (tail) => ({ projectionId, offset: tail.offset }),
    },
  );
}

function validate<E>(options: ProjectionOptions<E>): { batchSize: number; pollMs: number } {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `projection: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  const owner = `projection(${typeof options.projectionId === 'string' ? options.projectionId : '?'})`;
  const checks = new OptionChecks(owner);
  checks.run(() => requireString('projection', 'projectionId', options.projectionId), '');
  checks.run(() => requireStore(owner, options.store), undefined);
  checks.run(() => requireFunction(owner, 'handler', options.handler), undefined);
  checks.run(() => optionalString(owner, 'persistenceIdPrefix', options.persistenceIdPrefix), undefined);
  checks.run(() => optionalString(owner, 'tag', options.tag), undefined);
  const batchSize = checks.run(() => optionalInteger(owner, 'batchSize', options.batchSize, 1, 100), 100);
  const pollMs = checks.run(() => optionalPositive(owner, 'pollMs', options.pollMs, 1000), 1000);
  checks.run(() => {
    const adapter = options.adapter;
    if (adapter === undefined) return;
    if (adapter === null || typeof adapter !== 'object') {
      throw new TypeError(`${owner}: adapter must be an object with fromJournal`);
    }
    optionalFunction(owner, 'adapter.fromJournal', adapter.fromJournal);
  }, undefined);
  checks.done();
  return { batchSize, pollMs };
}

function project<E>(entry: JournalEntry, adapter: EventAdapter<E> | undefined): ProjectedEvent<E> {
  return {
    event: readEvent(entry.persistenceId, entry.seq, entry.payload, adapter),
    persistenceId: entry.persistenceId,
    seq: entry.seq,
    offset: entry.offset,
    tags: entry.tags,
    timestamp: entry.timestamp,
  };
}
