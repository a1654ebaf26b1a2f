import { type ActorContext, type Behavior, type Message, receive } from '@troupe/runtime';
import { decode, type EventAdapter, encode, readEvent } from './codec.js';
import type { Effect } from './effect.js';
import { RecoveryError } from './errors.js';
import { groupCommitOf } from './group-commit.js';
import type { PersistenceStore } from './store.js';

/** Options of {@link eventSourced}. */
export interface EventSourcedOptions<C extends Message, E, S> {
  /** Identifies this actor's events in the store; one live writer per id (see the concurrency note). */
  readonly persistenceId: string;
  readonly store: PersistenceStore;
  /** The state before any event. Treated as immutable: the event handler returns new states. */
  readonly emptyState: S;
  /**
   * Decides, for a command in the current state, what to persist and what to do after:
   * `Effect.persist(event | events, then?)`, `Effect.none(then?)` or `Effect.unhandled()`.
   * It must not change the state (only events do). A throw is a failure of the actor.
   */
  readonly commandHandler: (state: S, command: C, ctx: ActorContext<C>) => Effect<E | readonly E[], S>;
  /** Applies one event to the state: pure, no side effects (it runs again on every recovery). */
  readonly eventHandler: (state: S, event: E) => S;
  /** Save a snapshot of the state every `n` events (the state must be JSON), so recovery replays fewer. */
  readonly snapshotEvery?: number;
  /** Delete the events a snapshot covers once it is saved (default false: keep the full history). */
  readonly deleteEventsOnSnapshot?: boolean;
  /** Tags stored with each event, for projections that read by tag. */
  readonly tagger?: (event: E) => readonly string[];
  /** Shapes events for storage and upgrades old shapes on read. */
  readonly adapter?: EventAdapter<E>;
  /** Runs once recovery is done, before the first message (e.g. to start timers). */
  readonly onRecovered?: (state: S, ctx: ActorContext<C>) => void;
}

/** How many events recovery reads per query. */
const PAGE = 1000;

/** The recovered state and where the journal stands, for one incarnation. */
interface Journaled<S> {
  state: S;
  /** Sequence number of the last event applied. */
  seq: number;
  /** Events applied since the last snapshot. */
  sinceSnapshot: number;
}

/**
 * An event-sourced actor (Akka's `EventSourcedBehavior`): commands come in, the command
 * handler decides which events they cause, the events are stored, and only then does the
 * event handler apply them to the state and does `then` run (replies, side effects).
 *
 * - **Recovery** runs at every start: at spawn, after each supervised restart (so a restart
 *   resumes from the last stored state, not from `emptyState`), and in a new process. It loads
 *   the latest snapshot, replays the later events through the event handler only, then takes
 *   messages; what arrives meanwhile waits in the mailbox (bounded, as always).
 * - **Writes** carry the sequence number they expect. Events persisted by many actors in one
 *   turn share one transaction (group commit); each actor waits only for its own commit.
 * - **Failures** are failures of the actor, answered by its supervisor: a write the store
 *   refuses or cannot make (the command becomes a `failed` dead letter and its events are not
 *   applied), a `ConcurrencyError` when another incarnation wrote first (the restart then
 *   recovers that writer's events), a `DecodeError` naming the persistence id and sequence
 *   number when a stored event cannot be read, a `RecoveryError` when events are missing.
 * - **Snapshots** (`snapshotEvery`) are saved after the commit, in the background; a failed
 *   snapshot is logged and retried at the next interval, never a failure.
 *
 * @example
 * const counter = eventSourced<CounterCmd, { type: 'added'; n: number }, number>({
 *   persistenceId: 'counter-1', store, emptyState: 0,
 *   commandHandler: (total, cmd) =>
 *     cmd.type === 'add'
 *       ? Effect.persist({ type: 'added', n: cmd.n }, (next) => cmd.replyTo.tell({ type: 'total', total: next }))
 *       : Effect.none(() => cmd.replyTo.tell({ type: 'total', total })),
 *   eventHandler: (total, event) => total + event.n,
 * });
 */
export function eventSourced<C extends Message, E, S>(options: EventSourcedOptions<C, E, S>): Behavior<C> {
  validate(options);
  const { persistenceId: pid, store, commandHandler, eventHandler, adapter, tagger } = options;
  const commit = groupCommitOf(store);
  const snapshotEvery = options.snapshotEvery ?? 0;

  const recover = async (ctx: ActorContext<C>): Promise<Journaled<S>> => {
    const journaled: Journaled<S> = { state: options.emptyState, seq: 0, sinceSnapshot: 0 };
    const snapshot = await store.loadSnapshot(pid);
    if (snapshot !== undefined) {
      journaled.state = decode(snapshot.payload, pid, `snapshot at ${snapshot.seq}`, snapshot.seq) as S;
      journaled.seq = snapshot.seq;
    }
    for (;;) {
      const page = await store.readEvents(pid, journaled.seq + 1, PAGE);
      for (const record of page) {
        if (record.seq !== journaled.seq + 1) {
          throw new RecoveryError(
            pid,
            `events ${journaled.seq + 1}..${record.seq - 1} are missing from ${store.name}`,
          );
        }
        const event = readEvent(pid, record.seq, record.payload, adapter);
        journaled.state = eventHandler(journaled.state, event);
        journaled.seq = record.seq;
        journaled.sinceSnapshot++;
      }
      if (page.length < PAGE) break;
    }
    const highest = await store.highestSeq(pid);
    if (highest > journaled.seq) {
      throw new RecoveryError(pid, `events ${journaled.seq + 1}..${highest} are missing from ${store.name}`);
    }
    options.onRecovered?.(journaled.state, ctx);
    return journaled;
  };

  const snapshot = (journaled: Journaled<S>, ctx: ActorContext<C>): void => {
    const seq = journaled.seq;
    let payload: string;
    try {
      payload = encode(journaled.state, `${pid}: the state`);
    } catch (error) {
      ctx.log.warn({ err: error, persistenceId: pid, seq }, 'snapshot skipped: the state is not JSON');
      return;
    }
    journaled.sinceSnapshot = 0;
    store
      .saveSnapshot(pid, { seq, payload })
      .then(() => (options.deleteEventsOnSnapshot ? store.deleteEvents(pid, seq) : undefined))
      .catch((error: unknown) => {
        ctx.log.warn(
          { err: error, persistenceId: pid, seq },
          'snapshot failed; retried at the next interval',
        );
      });
  };

  return receive<Journaled<S>, C>(
    { state: options.emptyState, seq: 0, sinceSnapshot: 0 },
    (journaled, command, ctx) => {
      const effect = commandHandler(journaled.state, command, ctx);
      if (effect.kind === 'unhandled') {
        ctx.unhandled();
        return journaled;
      }
      if (effect.kind === 'none') {
        effect.then?.(journaled.state);
        return journaled;
      }
      const events = (Array.isArray(effect.value) ? effect.value : [effect.value]) as readonly E[];
      if (events.length === 0) {
        effect.then?.(journaled.state);
        return journaled;
      }
      const encoded = events.map((event, i) => {
        const payload = encode(
          adapter?.toJournal === undefined ? event : adapter.toJournal(event),
          `${pid}: event ${journaled.seq + i + 1}`,
        );
        const tags = tagger?.(event);
        return tags === undefined ? { payload } : { payload, tags };
      });
      return commit
        .submit({ kind: 'events', persistenceId: pid, expectedSeq: journaled.seq, events: encoded })
        .then(() => {
          for (const event of events) journaled.state = eventHandler(journaled.state, event);
          journaled.seq += events.length;
          journaled.sinceSnapshot += events.length;
          if (snapshotEvery > 0 && journaled.sinceSnapshot >= snapshotEvery) snapshot(journaled, ctx);
          effect.then?.(journaled.state);
          return journaled;
        });
    },
    {
      onStart: recover,
      describe: (journaled) => ({ persistenceId: pid, seq: journaled.seq }),
    },
  );
}

function validate<C extends Message, E, S>(options: EventSourcedOptions<C, E, S>): void {
  if (typeof options.persistenceId !== 'string' || options.persistenceId.length === 0) {
    throw new TypeError('eventSourced: persistenceId must be a non-empty string');
  }
  if (typeof options.commandHandler !== 'function' || typeof options.eventHandler !== 'function') {
    throw new TypeError(
      `eventSourced(${options.persistenceId}): commandHandler and eventHandler must be functions`,
    );
  }
  if (
    options.store === null ||
    typeof options.store !== 'object' ||
    typeof options.store.write !== 'function'
  ) {
    throw new TypeError(`eventSourced(${options.persistenceId}): store must be a PersistenceStore`);
  }
  const every = options.snapshotEvery;
  if (every !== undefined && (!Number.isInteger(every) || every < 1)) {
    throw new RangeError(
      `eventSourced(${options.persistenceId}): snapshotEvery must be an integer >= 1; got ${every}`,
    );
  }
}
