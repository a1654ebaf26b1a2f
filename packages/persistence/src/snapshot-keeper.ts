/**
 * Saves an event-sourced actor's snapshots in the background and applies its retention: after
 * each snapshot saved, the snapshots older than the `keep` newest are deleted and, when asked,
 * the events up to the oldest kept snapshot (so that every kept snapshot can still be recovered
 * from: a newer one that cannot be read falls back to an older one and its later events).
 *
 * One keeper per incarnation. Its steps run one after the other (a chain): a snapshot never
 * overtakes the previous one's retention. A failure is logged, never a failure of the actor;
 * the next snapshot retries the retention. The first save of an incarnation looks up the
 * `keep - 1` snapshots older than it (one load each); later saves know them.
 */
import type { Logger } from '@troupe/runtime';
import type { PersistenceStore } from './store.js';

export interface Retention {
  /** How many snapshots to keep (an integer >= 1). */
  readonly keep: number;
  /** Delete the events the oldest kept snapshot covers. */
  readonly deleteEvents: boolean;
}

export class SnapshotKeeper {
  private chain: Promise<void> = Promise.resolve();
  /**
   * Sequence numbers of the stored snapshots this keeper knows, ascending: the `keep` newest.
   * Undefined until the first save, which looks up the older ones.
   */
  private known: number[] | undefined;

  constructor(
    private readonly store: PersistenceStore,
    private readonly persistenceId: string,
    private readonly retention: Retention,
    private readonly log: Logger,
  ) {}

  /** Saves `payload` as the snapshot at `seq` (after the ones already queued), then applies retention. */
  save(seq: number, payload: string): void {
    this.chain = this.chain.then(() =>
      this.saveNow(seq, payload).catch((error: unknown) => {
        this.log.warn(
          { err: error, persistenceId: this.persistenceId, seq },
          'snapshot failed; retried at the next interval',
        );
      }),
    );
  }

  /** Resolves once every queued snapshot step has run (for tests and orderly shutdowns). */
  settled(): Promise<void> {
    return this.chain;
  }

  private async saveNow(seq: number, payload: string): Promise<void> {
    const { store, persistenceId: pid, retention } = this;
    await store.saveSnapshot(pid, { seq, payload, timestamp: Date.now() });
    const known = this.known ?? (await this.olderThan(seq));
    this.known = known;
    if (known.at(-1) !== seq) known.push(seq);
    if (known.length > retention.keep) known.splice(0, known.length - retention.keep);
    const oldest = known[0] as number;
    if (known.length === retention.keep) {
      await store.deleteSnapshots(pid, { maxSequenceNr: oldest - 1 });
    }
    if (retention.deleteEvents) await store.deleteEvents(pid, oldest);
  }

  /** The stored snapshots just older than `seq`, as many as retention keeps besides it, ascending. */
  private async olderThan(seq: number): Promise<number[]> {
    const older: number[] = [];
    let below = seq - 1;
    while (older.length < this.retention.keep - 1 && below >= 0) {
      const snapshot = await this.store.loadSnapshot(this.persistenceId, { maxSequenceNr: below });
      if (snapshot === undefined || snapshot.seq > below) break;
      older.unshift(snapshot.seq);
      below = snapshot.seq - 1;
    }
    return older;
  }
}
