import { type ActorContext, type ActorRef, type Behavior, receive } from '@troupe/runtime';
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

interface Tail {
  offset: number;
  /** A `poll` is queued (from a commit notice or the timer): further notices add none. */
  queued: boolean;
  unsubscribe: () => void;
}

/**
 * A projection (seed 002's query side): an actor that tails the store's journal — all events,
 * or those of a persistence-id prefix or a tag — in order, hands each to `handler` to build a
 * read model, and stores its checkpoint (the offset reached) after each batch. At-least-once
 * and resumable: after a crash or restart it reads again from the stored checkpoint.
 */
export function projection<E>(options: ProjectionOptions<E>): Behavior<ProjectionMessage> {
  const { projectionId, store, handler, adapter } = options;
  if (typeof projectionId !== 'string' || projectionId.length === 0) {
    throw new TypeError('projection: projectionId must be a non-empty string');
  }
  const batchSize = options.batchSize ?? 100;
  const pollMs = options.pollMs ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`projection(${projectionId}): batchSize must be an integer >= 1; got ${batchSize}`);
  }
  if (!(pollMs > 0)) throw new RangeError(`projection(${projectionId}): pollMs must be > 0; got ${pollMs}`);

  const wake = (tail: Tail, ctx: ActorContext<ProjectionMessage>): void => {
    if (tail.queued) return;
    tail.queued = true;
    ctx.self.tell({ type: 'poll' });
  };

  const poll = async (tail: Tail, ctx: ActorContext<ProjectionMessage>): Promise<Tail> => {
    tail.queued = false;
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
      await handler(project(entry, adapter), ctx);
      tail.offset = entry.offset;
    }
    if (batch.length > 0) await store.saveCheckpoint(projectionId, tail.offset);
    if (batch.length === batchSize) wake(tail, ctx);
    else ctx.timers.startSingle('poll', { type: 'poll' }, pollMs);
    return tail;
  };

  return receive<Tail, ProjectionMessage>(
    { offset: 0, queued: false, unsubscribe: () => {} },
    (tail, message, ctx) => {
      if (message.type === 'status') {
        message.replyTo.tell({ type: 'projectionStatus', offset: tail.offset });
        return tail;
      }
      return poll(tail, ctx);
    },
    {
      onStart: async (ctx) => {
        const tail: Tail = {
          offset: await store.loadCheckpoint(projectionId),
          queued: false,
          unsubscribe: () => {},
        };
        tail.unsubscribe = store.onAppend(() => wake(tail, ctx));
        wake(tail, ctx);
        return tail;
      },
      onStop: (tail) => tail.unsubscribe(),
      onRestart: (tail) => tail.unsubscribe(),
      describe: (tail) => ({ projectionId, offset: tail.offset }),
    },
  );
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
