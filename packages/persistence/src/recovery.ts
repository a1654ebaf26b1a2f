/**
 * Event-sourced recovery: the newest readable snapshot the criteria select (falling back to
 * older ones, then to no snapshot, when one cannot be read), then every later event through
 * the event handler. Any failure that the stored data causes is a `RecoveryError` naming the
 * persistence id and sequence number; store failures pass through as they are.
 */
import type { Logger } from '@troupe/runtime';
import { decode, type EventAdapter, readEvent } from './codec.js';
import { DecodeError, RecoveryError } from './errors.js';
import type { SnapshotSelectionCriteria } from './snapshot-criteria.js';
import type { PersistenceStore } from './store.js';

/** How many events recovery reads per query. */
const PAGE = 1000;

/** Upgrades (or checks) a stored snapshot's JSON value; a throw makes recovery try an older one. */
export type SnapshotReader<S> = (
  stored: unknown,
  meta: { readonly persistenceId: string; readonly seq: number },
) => S;

export interface RecoveryPlan<E, S> {
  readonly persistenceId: string;
  readonly store: PersistenceStore;
  readonly emptyState: S;
  readonly eventHandler: (state: S, event: E) => S;
  readonly adapter: EventAdapter<E> | undefined;
  readonly fromSnapshot: SnapshotReader<S> | undefined;
  /** Which snapshots recovery may start from; `'none'` replays every event. */
  readonly snapshot: SnapshotSelectionCriteria | 'none';
  readonly log: Logger;
}

/** What recovery rebuilt. */
export interface Recovered<S> {
  readonly state: S;
  /** The sequence number of the last event applied (or of the snapshot). */
  readonly seq: number;
  /** Events replayed after the snapshot. */
  readonly replayed: number;
}

export async function recover<E, S>(plan: RecoveryPlan<E, S>): Promise<Recovered<S>> {
  const { persistenceId: pid, store, eventHandler, adapter } = plan;
  const start = await startingPoint(plan);
  let state = start.state;
  let seq = start.seq;
  let replayed = 0;
  for (;;) {
    const page = await store.readEvents(pid, seq + 1, PAGE);
    for (const record of page) {
      if (record.seq !== seq + 1) {
        throw missing(pid, store, seq + 1, record.seq - 1, start.skipped);
      }
      let event: E;
      try {
        event = readEvent(pid, record.seq, record.payload, adapter);
      } catch (cause) {
        throw new RecoveryError(pid, record.seq, reasonOf(cause, `event ${record.seq} cannot be decoded`), {
          cause,
        });
      }
      try {
        state = eventHandler(state, event);
      } catch (cause) {
        throw new RecoveryError(
          pid,
          record.seq,
          `the event handler threw on event ${record.seq}: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
      }
      seq = record.seq;
      replayed++;
    }
    if (page.length < PAGE) break;
  }
  const highest = await store.highestSeq(pid);
  if (highest > seq) throw missing(pid, store, seq + 1, highest, start.skipped);
  if (seq > highest) {
    throw new RecoveryError(
      pid,
      seq,
      `the snapshot at ${seq} is beyond the journal of ${store.name}, whose highest sequence number is ${highest}`,
    );
  }
  return { state, seq, replayed };
}

interface StartingPoint<S> {
  readonly state: S;
  readonly seq: number;
  /** Snapshots that could not be read, newest first. */
  readonly skipped: readonly number[];
}

/** The newest readable snapshot the criteria select, or the empty state at 0. */
async function startingPoint<E, S>(plan: RecoveryPlan<E, S>): Promise<StartingPoint<S>> {
  const { persistenceId: pid, store } = plan;
  const skipped: number[] = [];
  if (plan.snapshot === 'none') return { state: plan.emptyState, seq: 0, skipped };
  let criteria = plan.snapshot;
  for (;;) {
    const snapshot = await store.loadSnapshot(pid, criteria);
    if (snapshot === undefined) return { state: plan.emptyState, seq: 0, skipped };
    const bound = criteria.maxSequenceNr;
    if (bound !== undefined && snapshot.seq > bound) {
      // A store that ignores the bound would have us loop forever on the same snapshot.
      throw new Error(
        `${store.name}: loadSnapshot(${pid}) returned the snapshot at ${snapshot.seq} for maxSequenceNr ${bound}`,
      );
    }
    try {
      return { state: readSnapshot(plan, snapshot.seq, snapshot.payload), seq: snapshot.seq, skipped };
    } catch (error) {
      plan.log.warn(
        { err: error, persistenceId: pid, seq: snapshot.seq },
        'snapshot cannot be read: recovering from an older one, or from the events',
      );
      skipped.push(snapshot.seq);
      criteria = { ...criteria, maxSequenceNr: snapshot.seq - 1 };
    }
  }
}

function readSnapshot<E, S>(plan: RecoveryPlan<E, S>, seq: number, payload: string): S {
  const pid = plan.persistenceId;
  const what = `snapshot at ${seq}`;
  const value = decode(payload, pid, what, seq);
  if (plan.fromSnapshot === undefined) return value as S;
  try {
    return plan.fromSnapshot(value, { persistenceId: pid, seq });
  } catch (cause) {
    throw new DecodeError(pid, what, seq, { cause });
  }
}

function missing(
  pid: string,
  store: PersistenceStore,
  from: number,
  to: number,
  skipped: readonly number[],
): RecoveryError {
  const snapshots = skipped.length === 0 ? '' : ` (the snapshots at ${skipped.join(', ')} could not be read)`;
  return new RecoveryError(pid, from, `events ${from}..${to} are missing from ${store.name}${snapshots}`);
}

/** A decode failure's own reason (its message without the persistence id), or `fallback`. */
function reasonOf(cause: unknown, fallback: string): string {
  if (cause instanceof DecodeError) return cause.message.slice(cause.persistenceId.length + 2);
  return fallback;
}
