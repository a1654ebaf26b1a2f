import { StoreClosedError } from '../errors.js';
import {
  checkSnapshot,
  type SnapshotSelectionCriteria,
  selects,
  snapshotBounds,
} from '../snapshot-criteria.js';
import type {
  EventRecord,
  JournalEntry,
  JournalQuery,
  PersistenceStore,
  SnapshotToSave,
  StoredSnapshot,
  StoredState,
  Write,
  WriteResult,
} from '../store.js';
import { AppendListeners } from './append-listeners.js';

/**
 * A store in this process's memory: for tests and examples. Gone when the process ends; it
 * keeps the same contract as the durable stores (the conformance suite runs on it too).
 */
export function memoryStore(): PersistenceStore {
  return new MemoryStore();
}

class MemoryStore implements PersistenceStore {
  readonly name = 'memory';
  private readonly journal: JournalEntry[] = [];
  private readonly highest = new Map<string, number>();
  private readonly deletedUpTo = new Map<string, number>();
  /** Per persistence id, ascending by seq, one per seq. */
  private readonly snapshots = new Map<string, StoredSnapshot[]>();
  private readonly states = new Map<string, StoredState>();
  private readonly checkpoints = new Map<string, number>();
  private readonly listeners = new AppendListeners();
  private closed = false;

  async write(writes: readonly Write[]): Promise<WriteResult[]> {
    this.check();
    const results: WriteResult[] = [];
    let appended = false;
    for (const write of writes) {
      if (write.kind === 'events') {
        const current = this.highest.get(write.persistenceId) ?? 0;
        if (current !== write.expectedSeq) {
          results.push({ ok: false, actual: current });
          continue;
        }
        let seq = current;
        const timestamp = Date.now();
        for (const event of write.events) {
          seq++;
          this.journal.push({
            offset: this.journal.length + 1,
            persistenceId: write.persistenceId,
            seq,
            payload: event.payload,
            tags: [...(event.tags ?? [])],
            timestamp,
          });
        }
        this.highest.set(write.persistenceId, seq);
        appended ||= write.events.length > 0;
      } else {
        const current = this.states.get(write.persistenceId)?.revision ?? 0;
        if (current !== write.expectedRevision) {
          results.push({ ok: false, actual: current });
          continue;
        }
        this.states.set(
          write.persistenceId,
          write.kind === 'state'
            ? { revision: current + 1, payload: write.payload }
            : { revision: current + 1, payload: '', deleted: true },
        );
      }
      results.push({ ok: true });
    }
    if (appended) this.listeners.notify();
    return results;
  }

  async readEvents(persistenceId: string, fromSeq: number, limit: number): Promise<EventRecord[]> {
    this.check();
    const from = Math.max(fromSeq, (this.deletedUpTo.get(persistenceId) ?? 0) + 1);
    const out: EventRecord[] = [];
    for (const entry of this.journal) {
      if (out.length >= limit) break;
      if (entry.persistenceId === persistenceId && entry.seq >= from) out.push(record(entry));
    }
    return out;
  }

  async highestSeq(persistenceId: string): Promise<number> {
    this.check();
    return this.highest.get(persistenceId) ?? 0;
  }

  async deleteEvents(persistenceId: string, toSeq: number): Promise<void> {
    this.check();
    const upTo = Math.min(toSeq, this.highest.get(persistenceId) ?? 0);
    if (upTo > (this.deletedUpTo.get(persistenceId) ?? 0)) this.deletedUpTo.set(persistenceId, upTo);
  }

  async saveSnapshot(persistenceId: string, snapshot: SnapshotToSave): Promise<void> {
    this.check();
    const timestamp = snapshot.timestamp ?? Date.now();
    checkSnapshot(snapshot.seq, timestamp, snapshot.payload, this.name);
    const saved: StoredSnapshot = { seq: snapshot.seq, timestamp, payload: snapshot.payload };
    const list = this.snapshots.get(persistenceId) ?? [];
    const at = list.findIndex((s) => s.seq >= saved.seq);
    if (at === -1) list.push(saved);
    else if (list[at]?.seq === saved.seq) list[at] = saved;
    else list.splice(at, 0, saved);
    this.snapshots.set(persistenceId, list);
  }

  async loadSnapshot(
    persistenceId: string,
    criteria?: SnapshotSelectionCriteria,
  ): Promise<StoredSnapshot | undefined> {
    this.check();
    const bounds = snapshotBounds(criteria, this.name);
    const list = this.snapshots.get(persistenceId) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const snapshot = list[i] as StoredSnapshot;
      if (selects(bounds, snapshot.seq, snapshot.timestamp)) return snapshot;
    }
    return undefined;
  }

  async deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<number> {
    this.check();
    const bounds = snapshotBounds(criteria, this.name);
    const list = this.snapshots.get(persistenceId) ?? [];
    const kept = list.filter((s) => !selects(bounds, s.seq, s.timestamp));
    if (kept.length === 0) this.snapshots.delete(persistenceId);
    else this.snapshots.set(persistenceId, kept);
    return list.length - kept.length;
  }

  async loadState(persistenceId: string): Promise<StoredState | undefined> {
    this.check();
    return this.states.get(persistenceId);
  }

  async readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    this.check();
    const out: JournalEntry[] = [];
    for (let i = query.afterOffset; i < this.journal.length && out.length < query.limit; i++) {
      const entry = this.journal[i] as JournalEntry;
      if (entry.seq <= (this.deletedUpTo.get(entry.persistenceId) ?? 0)) continue;
      if (
        query.persistenceIdPrefix !== undefined &&
        !entry.persistenceId.startsWith(query.persistenceIdPrefix)
      )
        continue;
      if (query.tag !== undefined && !entry.tags.includes(query.tag)) continue;
      out.push(entry);
    }
    return out;
  }

  async loadCheckpoint(projectionId: string): Promise<number> {
    this.check();
    return this.checkpoints.get(projectionId) ?? 0;
  }

  async saveCheckpoint(projectionId: string, offset: number): Promise<void> {
    this.check();
    this.checkpoints.set(projectionId, offset);
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.name);
  }
}

function record(entry: JournalEntry): EventRecord {
  return {
    persistenceId: entry.persistenceId,
    seq: entry.seq,
    payload: entry.payload,
    tags: entry.tags,
    timestamp: entry.timestamp,
  };
}
