/** Stores that misbehave on purpose, wrapped around a real one. */
import type { PersistenceStore, Write, WriteResult } from '../../src/index.js';

/** A store whose methods can be held (gated) or made to fail, and that records the batches it was given. */
export class ControlledStore implements PersistenceStore {
  readonly name: string;
  readonly batches: (readonly Write[])[] = [];
  readonly eventReads: { persistenceId: string; fromSeq: number }[] = [];
  /** When set, `write` rejects with it (nothing is stored). */
  failWrites: Error | null = null;
  private writeGate: Promise<void> | null = null;
  private openWriteGate: (() => void) | null = null;
  private readGate: Promise<void> | null = null;
  private openReadGate: (() => void) | null = null;

  constructor(readonly inner: PersistenceStore) {
    this.name = `controlled(${inner.name})`;
  }

  holdWrites(): () => void {
    this.writeGate = new Promise((resolve) => {
      this.openWriteGate = resolve;
    });
    return () => {
      this.writeGate = null;
      this.openWriteGate?.();
    };
  }

  holdReads(): () => void {
    this.readGate = new Promise((resolve) => {
      this.openReadGate = resolve;
    });
    return () => {
      this.readGate = null;
      this.openReadGate?.();
    };
  }

  async write(writes: readonly Write[]): Promise<WriteResult[]> {
    this.batches.push(writes);
    if (this.writeGate !== null) await this.writeGate;
    if (this.failWrites !== null) throw this.failWrites;
    return this.inner.write(writes);
  }

  async readEvents(persistenceId: string, fromSeq: number, limit: number) {
    this.eventReads.push({ persistenceId, fromSeq });
    if (this.readGate !== null) await this.readGate;
    return this.inner.readEvents(persistenceId, fromSeq, limit);
  }

  async loadSnapshot(persistenceId: string) {
    if (this.readGate !== null) await this.readGate;
    return this.inner.loadSnapshot(persistenceId);
  }

  async loadState(persistenceId: string) {
    if (this.readGate !== null) await this.readGate;
    return this.inner.loadState(persistenceId);
  }

  highestSeq = (persistenceId: string) => this.inner.highestSeq(persistenceId);
  deleteEvents = (persistenceId: string, toSeq: number) => this.inner.deleteEvents(persistenceId, toSeq);
  saveSnapshot: PersistenceStore['saveSnapshot'] = (pid, snapshot) => this.inner.saveSnapshot(pid, snapshot);
  readJournal: PersistenceStore['readJournal'] = (query) => this.inner.readJournal(query);
  loadCheckpoint = (projectionId: string) => this.inner.loadCheckpoint(projectionId);
  saveCheckpoint = (projectionId: string, offset: number) => this.inner.saveCheckpoint(projectionId, offset);
  onAppend = (listener: () => void) => this.inner.onAppend(listener);
  close = () => this.inner.close();
}
