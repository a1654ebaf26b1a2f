import { type ActorContext, type Behavior, type Message, OptionChecks, receive } from '@troupe/runtime';
import {
  optionalBoolean,
  optionalFunction,
  optionalInteger,
  requireFunction,
  requireStore,
  requireString,
} from './checks.js';
import { type EventAdapter, encode } from './codec.js';
import type { Effect } from './effect.js';
import { groupCommitOf } from './group-commit.js';
import { recover, type SnapshotReader } from './recovery.js';
import { type SnapshotSelectionCriteria, snapshotBounds } from './snapshot-criteria.js';
import { SnapshotKeeper } from './snapshot-keeper.js';
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
  /**
   * Applies one event to the state: pure, no side effects (it runs again on every recovery). A
   * throw while recovering is a `RecoveryError` naming the event; a throw on a new event, after
   * its commit, fails the actor (and then its recovery, until the handler is fixed).
   */
  readonly eventHandler: (state: S, event: E) => S;
  /** Save a snapshot of the state every `n` events (the state must be JSON), so recovery replays fewer. */
  readonly snapshotEvery?: number;
  /**
   * How many snapshots to keep (default 2): after each snapshot saved, older ones are deleted.
   * More than one lets recovery fall back to an older snapshot when the newest cannot be read.
   */
  readonly keepSnapshots?: number;
  /**
   * Delete the events the snapshots cover once one is saved (default false: keep the full
   * history): the events up to the oldest kept snapshot, so each kept snapshot can still be
   * recovered from.
   */
  readonly deleteEventsOnSnapshot?: boolean;
  /**
   * Upgrades a stored snapshot of an older shape, or refuses one (default: as stored). A throw,
   * like a snapshot that is not valid JSON, makes recovery use the next older snapshot instead,
   * or the events from the start.
   */
  readonly fromSnapshot?: SnapshotReader<S>;
  /**
   * How recovery starts: from the newest snapshot that `snapshot` selects (default: the newest
   * of all), or from the first event (`snapshot: 'none'`). Later events are replayed either way.
   */
  readonly recovery?: { readonly snapshot?: SnapshotSelectionCriteria | 'none' };
  /** Tags stored with each event, for projections that read by tag. */
  readonly tagger?: (event: E) => readonly string[];
  /** Shapes events for storage and upgrades old shapes on read. */
  readonly adapter?: EventAdapter<E>;
  /** Runs once recovery is done, before the first message (e.g. to start timers). */
  readonly onRecovered?: (state: S, ctx: ActorContext<C>) => void;
}

/** The recovered state and where the journal stands, for one incarnation. */
interface Journaled<S> {
  state: S;
  /** Sequence number of the last event applied. */
  seq: number;
  /** Events applied since the last snapshot. */
  sinceSnapshot: number;
  /** This incarnation's snapshots (null without `snapshotEvery`). */
  snapshots: SnapshotKeeper | null;
}

/**
 * An event-sourced actor (Akka's `EventSourcedBehavior`): commands come in, the command
 * handler decides which events they cause, the events are stored, and only then does the
 * event handler apply them to the state and does `then` run (replies, side effects).
 *
 * - **Recovery** runs at every start: at spawn, after each supervised restart (so a restart
 *   resumes from the last stored state, not from `emptyState`), and in a new process. It loads
 *   the newest snapshot (`recovery.snapshot` narrows which), replays the later events through
 *   the event handler only, then takes messages; what arrives meanwhile waits in the mailbox.
 *   A snapshot that cannot be read (broken JSON, `fromSnapshot` throws) is skipped with a
 *   warning: recovery tries the next older one, then the events from the start.
 * - **Recovery failures** are a `RecoveryError` naming the persistence id and the sequence
 *   number, with the cause: an event that cannot be decoded, an event handler that throws,
 *   events missing from the journal. It fails the start (`ActorFailed`, phase `start`), so the
 *   supervisor decides; nothing is written after it (no message is handled, no snapshot saved).
 * - **Writes** carry the sequence number they expect. Events persisted by many actors in one
 *   turn share one transaction (group commit); each actor waits only for its own commit.
 * - **Failures** are failures of the actor, answered by its supervisor: a write the store
 *   refuses or cannot make (the command becomes a `failed` dead letter and its events are not
 *   applied), a `ConcurrencyError` when another incarnation wrote first (the restart then
 *   recovers that writer's events), a `StoreUnavailableError` when the database could not be
 *   reached (the restart's recovery reads what really was stored, including a commit whose
 *   answer was lost).
 * - **Snapshots** (`snapshotEvery`) are saved after the commit, in the background; the
 *   `keepSnapshots` newest are kept, and with `deleteEventsOnSnapshot` the events up to the
 *   oldest kept one are deleted. A failed snapshot step is logged and retried at the next
 *   interval, never a failure.
 * - **Options** are checked at the call: every bad one is reported at once (one field: its
 *   `TypeError`/`RangeError`; several: an `InvalidOptionsError`).
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
  const checked = validate(options);
  const { persistenceId: pid, store, commandHandler, eventHandler, adapter, tagger } = options;
  const commit = groupCommitOf(store);
  const { snapshotEvery, keepSnapshots, deleteEventsOnSnapshot, recoverFrom } = checked;

  const start = async (ctx: ActorContext<C>): Promise<Journaled<S>> => {
    const recovered = await recover<E, S>({
      persistenceId: pid,
      store,
      emptyState: options.emptyState,
      eventHandler,
      adapter,
      fromSnapshot: options.fromSnapshot,
      snapshot: recoverFrom,
      log: ctx.log,
    });
    options.onRecovered?.(recovered.state, ctx);
    return {
      state: recovered.state,
      seq: recovered.seq,
      sinceSnapshot: recovered.replayed,
      snapshots:
        snapshotEvery === 0
          ? null
          : new SnapshotKeeper(
              store,
              pid,
              { keep: keepSnapshots, deleteEvents: deleteEventsOnSnapshot },
              ctx.log,
            ),
    };
  };

  const snapshot = (journaled: Journaled<S>, ctx: ActorContext<C>): void => {
    let payload: string;
    try {
      payload = encode(journaled.state, `${pid}: the state`);
    } catch (error) {
      ctx.log.warn(
        { err: error, persistenceId: pid, seq: journaled.seq },
        'snapshot skipped: the state is not JSON',
      );
      return;
    }
    journaled.sinceSnapshot = 0;
    journaled.snapshots?.save(journaled.seq, payload);
  };

  return receive<Journaled<S>, C>(
    { state: options.emptyState, seq: 0, sinceSnapshot: 0, snapshots: null },
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
      if (effect.kind !== 'persist') {
        throw new TypeError(
          `eventSourced(${pid}): the command handler returned a '${(effect as { kind: string }).kind}' effect; expected Effect.persist, Effect.none or Effect.unhandled`,
        );
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
      onStart: start,
      describe: (journaled) => ({ persistenceId: pid, seq: journaled.seq }),
    },
  );
}

interface Checked {
  readonly snapshotEvery: number;
  readonly keepSnapshots: number;
  readonly deleteEventsOnSnapshot: boolean;
  readonly recoverFrom: SnapshotSelectionCriteria | 'none';
}

/** Checks every option, reporting all bad ones at once. */
function validate<C extends Message, E, S>(options: EventSourcedOptions<C, E, S>): Checked {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `eventSourced: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  const pid = typeof options.persistenceId === 'string' ? options.persistenceId : '?';
  const owner = `eventSourced(${pid})`;
  const checks = new OptionChecks(owner);
  checks.run(() => requireString('eventSourced', 'persistenceId', options.persistenceId), '');
  checks.run(() => requireStore(owner, options.store), undefined);
  checks.run(() => requireFunction(owner, 'commandHandler', options.commandHandler), undefined);
  checks.run(() => requireFunction(owner, 'eventHandler', options.eventHandler), undefined);
  const snapshotEvery = checks.run(
    () => optionalInteger(owner, 'snapshotEvery', options.snapshotEvery, 1, 0),
    0,
  );
  const keepSnapshots = checks.run(
    () => optionalInteger(owner, 'keepSnapshots', options.keepSnapshots, 1, 2),
    2,
  );
  const deleteEventsOnSnapshot = checks.run(
    () => optionalBoolean(owner, 'deleteEventsOnSnapshot', options.deleteEventsOnSnapshot, false),
    false,
  );
  checks.run(() => optionalFunction(owner, 'fromSnapshot', options.fromSnapshot), undefined);
  checks.run(() => optionalFunction(owner, 'tagger', options.tagger), undefined);
  checks.run(() => optionalFunction(owner, 'onRecovered', options.onRecovered), undefined);
  checks.run(() => checkAdapter(owner, options.adapter), undefined);
  const recoverFrom = checks.run(() => recoveryCriteria(owner, options.recovery), {});
  checks.done();
  return { snapshotEvery, keepSnapshots, deleteEventsOnSnapshot, recoverFrom };
}

function checkAdapter(owner: string, adapter: unknown): void {
  if (adapter === undefined) return;
  if (adapter === null || typeof adapter !== 'object') {
    throw new TypeError(`${owner}: adapter must be an object with toJournal and/or fromJournal`);
  }
  const { toJournal, fromJournal } = adapter as Record<string, unknown>;
  optionalFunction(owner, 'adapter.toJournal', toJournal);
  optionalFunction(owner, 'adapter.fromJournal', fromJournal);
}

function recoveryCriteria(
  owner: string,
  recovery: EventSourcedOptions<Message, unknown, unknown>['recovery'],
): SnapshotSelectionCriteria | 'none' {
  if (recovery === undefined) return {};
  if (recovery === null || typeof recovery !== 'object') {
    throw new TypeError(`${owner}: recovery must be an object ({ snapshot })`);
  }
  const snapshot = recovery.snapshot;
  if (snapshot === undefined) return {};
  if (snapshot === 'none') return 'none';
  snapshotBounds(snapshot, `${owner}: recovery.snapshot`);
  return snapshot;
}
