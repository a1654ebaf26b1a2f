/** Stores that misbehave on purpose, wrapped around a real one. */
import type {
  PersistenceStore,
  SnapshotSelectionCriteria,
  SnapshotToSave,
  Write,
  WriteResult,
} from '../../src/index.js';

/** The store methods a test can make fail (see {@link ControlledStore.fail}). */
export type StoreMethod =
  | 'readEvents'
  | 'highestSeq'
  | 'loadSnapshot'
  | 'loadState'
  | 'saveSnapshot'
  | 'deleteSnapshots'
  | 'deleteEvents'
  | 'readJournal'
  | 'loadCheckpoint'
  | 'saveCheckpoint'
  | 'onAppend';

/**
 * A store whose methods can be held (gated) or made to fail, that records the batches and
 * snapshot calls it was given, and counts its live `onAppend` listeners.
 */
export class ControlledStore implements PersistenceStore {
  readonly name: string;
  readonly batches: (readonly Write[])[] = [];
  readonly eventReads: { persistenceId: string; fromSeq: number }[] = [];
  readonly snapshotLoads: (SnapshotSelectionCriteria | undefined)[] = [];
  readonly snapshotSaves: { persistenceId: string; seq: number }[] = [];
  readonly snapshotDeletes: SnapshotSelectionCriteria[] = [];
  readonly eventDeletes: number[] = [];
  readonly checkpointSaves: number[] = [];
  /** When set, `write` rejects with it (nothing is stored). */
  failWrites: Error | null = null;
  /** Per method: an error it rejects with for the next `times` calls. */
  private readonly failures = new Map<StoreMethod, { error: Error; times: number }>();
  private readonly gates = new Map<'write' | 'read' | 'journal' | 'checkpoint', Gate>();
  private liveListeners = 0;

  constructor(readonly inner: PersistenceStore) {
    this.name = `controlled(${inner.name})`;
  }

  /** `onAppend` listeners subscribed and not yet unsubscribed. */
  get listeners(): number {
    return this.liveListeners;
  }

  /** Makes `method` reject with `error` for its next `times` calls (default: every call). */
  fail(method: StoreMethod, error: Error, times = Number.POSITIVE_INFINITY): void {
    this.failures.set(method, { error, times });
  }

  /** Ends the failures of `method`. */
  heal(method: StoreMethod): void {
    this.failures.delete(method);
  }

  holdWrites(): () => void {
    return this.hold('write');
  }

  /** Holds `readEvents`, `loadSnapshot` and `loadState`. */
  holdReads(): () => void {
    return this.hold('read');
  }

  /** Holds `readJournal`. */
  holdJournal(): () => void {
    return this.hold('journal');
  }

  /** Holds `loadCheckpoint`. */
  holdCheckpoint(): () => void {
    return this.hold('checkpoint');
  }

  async write(writes: readonly Write[]): Promise<WriteResult[]> {
    this.batches.push(writes);
    await this.gates.get('write')?.promise;
    if (this.failWrites !== null) throw this.failWrites;
    return this.inner.write(writes);
  }

  async readEvents(persistenceId: string, fromSeq: number, limit: number) {
    this.eventReads.push({ persistenceId, fromSeq });
    await this.gates.get('read')?.promise;
    this.check('readEvents');
    return this.inner.readEvents(persistenceId, fromSeq, limit);
  }

  async loadSnapshot(persistenceId: string, criteria?: SnapshotSelectionCriteria) {
    this.snapshotLoads.push(criteria);
    await this.gates.get('read')?.promise;
    this.check('loadSnapshot');
    return this.inner.loadSnapshot(persistenceId, criteria);
  }

  async loadState(persistenceId: string) {
    await this.gates.get('read')?.promise;
    this.check('loadState');
    return this.inner.loadState(persistenceId);
  }

  async highestSeq(persistenceId: string) {
    this.check('highestSeq');
    return this.inner.highestSeq(persistenceId);
  }

  async deleteEvents(persistenceId: string, toSeq: number) {
    this.check('deleteEvents');
    this.eventDeletes.push(toSeq);
    return this.inner.deleteEvents(persistenceId, toSeq);
  }

  async saveSnapshot(persistenceId: string, snapshot: SnapshotToSave) {
    this.check('saveSnapshot');
    this.snapshotSaves.push({ persistenceId, seq: snapshot.seq });
    return this.inner.saveSnapshot(persistenceId, snapshot);
  }

  async deleteSnapshots(persistenceId: string, criteria: SnapshotSelectionCriteria) {
    this.check('deleteSnapshots');
    this.snapshotDeletes.push(criteria);
    return this.inner.deleteSnapshots(persistenceId, criteria);
  }

  async readJournal(query: Parameters<PersistenceStore['readJournal']>[0]) {
    await this.gates.get('journal')?.promise;
    this.check('readJournal');
    return this.inner.readJournal(query);
  }

  async loadCheckpoint(projectionId: string) {
    await this.gates.get('checkpoint')?.promise;
    this.check('loadCheckpoint');
    return this.inner.loadCheckpoint(projectionId);
  }

  async saveCheckpoint(projectionId: string, offset: number) {
    this.check('saveCheckpoint');
    this.checkpointSaves.push(offset);
    return this.inner.saveCheckpoint(projectionId, offset);
  }

  onAppend(listener: () => void): () => void {
    this.check('onAppend');
    const off = this.inner.onAppend(listener);
    this.liveListeners++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.liveListeners--;
      off();
    };
  }

  close = () => this.inner.close();

  private hold(kind: 'write' | 'read' | 'journal' | 'checkpoint'): () => void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gates.set(kind, { promise });
    return () => {
      this.gates.delete(kind);
      open();
    };
  }

  private check(method: StoreMethod): void {
    const failure = this.failures.get(method);
    if (failure === undefined) return;
    if (--failure.times <= 0) this.failures.delete(method);
    throw failure.error;
  }
}

interface Gate {
  readonly promise: Promise<void>;
}
