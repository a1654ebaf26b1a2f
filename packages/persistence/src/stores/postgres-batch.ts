/**
 * How the PostgreSQL store turns a batch of writes into a few set-based statements: each write
 * is decided in batch order against the committed values (read under the write lock) plus the
 * batch's earlier accepted writes; what is accepted becomes column arrays for `unnest`.
 */
import type { Write, WriteResult } from '../store.js';

/** The rows a batch stores, as parallel arrays. */
export interface BatchPlan {
  readonly results: WriteResult[];
  readonly events: {
    readonly pids: string[];
    readonly seqs: number[];
    readonly payloads: string[];
    /** Each event's tags as JSON text (turned into `TEXT[]` by the statement). */
    readonly tags: string[];
    readonly timestamps: number[];
  };
  /** The new highest sequence number of each persistence id that got events. */
  readonly highest: Map<string, number>;
  /** The new durable state of each persistence id that got one (`deleted` for a tombstone). */
  readonly states: Map<string, { revision: number; payload: string; deleted: boolean }>;
}

/** The persistence ids whose highest sequence and whose revision the batch needs to read. */
export function batchIds(writes: readonly Write[]): { eventIds: string[]; stateIds: string[] } {
  const eventIds = new Set<string>();
  const stateIds = new Set<string>();
  for (const write of writes) (write.kind === 'events' ? eventIds : stateIds).add(write.persistenceId);
  return { eventIds: [...eventIds], stateIds: [...stateIds] };
}

/**
 * Decides each write of `writes` in order. `highest` and `revisions` hold the committed values
 * (absent: 0) and are updated as writes are accepted.
 */
export function planBatch(
  writes: readonly Write[],
  highest: Map<string, number>,
  revisions: Map<string, number>,
  now: number,
): BatchPlan {
  const plan: BatchPlan = {
    results: [],
    events: { pids: [], seqs: [], payloads: [], tags: [], timestamps: [] },
    highest: new Map(),
    states: new Map(),
  };
  const { events } = plan;
  for (const write of writes) {
    if (write.kind === 'events') {
      const current = highest.get(write.persistenceId) ?? 0;
      if (current !== write.expectedSeq) {
        plan.results.push({ ok: false, actual: current });
        continue;
      }
      let seq = current;
      for (const event of write.events) {
        seq++;
        events.pids.push(write.persistenceId);
        events.seqs.push(seq);
        events.payloads.push(event.payload);
        events.tags.push(JSON.stringify(event.tags ?? []));
        events.timestamps.push(now);
      }
      if (seq !== current) {
        highest.set(write.persistenceId, seq);
        plan.highest.set(write.persistenceId, seq);
      }
    } else {
      const current = revisions.get(write.persistenceId) ?? 0;
      if (current !== write.expectedRevision) {
        plan.results.push({ ok: false, actual: current });
        continue;
      }
      revisions.set(write.persistenceId, current + 1);
      plan.states.set(
        write.persistenceId,
        write.kind === 'state'
          ? { revision: current + 1, payload: write.payload, deleted: false }
          : { revision: current + 1, payload: '', deleted: true },
      );
    }
    plan.results.push({ ok: true });
  }
  return plan;
}
