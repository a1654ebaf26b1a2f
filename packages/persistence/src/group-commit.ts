import { ConcurrencyError } from './errors.js';
import type { PersistenceStore, Write } from './store.js';

/**
 * Group commit: the writes every persistent actor of a process submits within one turn of the
 * event loop go to the store as one batch, in one transaction. While a batch is being
 * committed the next one gathers, so batches grow with load (and a slow database makes them
 * bigger, not the queue longer: each actor has at most one write in flight). Each submitter
 * resumes only once its own write is committed, or learns why not: a `ConcurrencyError` for a
 * stale expectation (the rest of the batch still commits), or the store's error, which fails
 * every write of that batch (none of it is stored).
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private writing = false;

  constructor(private readonly store: PersistenceStore) {}

  /** Resolves once `write` is committed; rejects with `ConcurrencyError` or the store's error. */
  submit(write: Write): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ write, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // After the current turn: every actor that runs in it gets its write into this batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.writing = true;
    try {
      let results: Awaited<ReturnType<PersistenceStore['write']>>;
      try {
        results = await this.store.write(batch.map((p) => p.write));
      } catch (error) {
        for (const p of batch) p.reject(error);
        return;
      }
      batch.forEach((p, i) => {
        const result = results[i];
        if (result === undefined)
          p.reject(new Error(`${this.store.name}: no result for write ${i} of the batch`));
        else if (result.ok) p.resolve();
        else p.reject(new ConcurrencyError(p.write.persistenceId, expected(p.write), result.actual));
      });
    } finally {
      this.writing = false;
      if (this.pending.length > 0) this.schedule();
    }
  }
}

interface Pending {
  readonly write: Write;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function expected(write: Write): number {
  return write.kind === 'events' ? write.expectedSeq : write.expectedRevision;
}

const commits = new WeakMap<PersistenceStore, GroupCommit>();

/** The one group commit of `store` in this process (every actor on a store shares its batches). */
export function groupCommitOf(store: PersistenceStore): GroupCommit {
  let commit = commits.get(store);
  if (commit === undefined) {
    commit = new GroupCommit(store);
    commits.set(store, commit);
  }
  return commit;
}
