/** The `onAppend` listeners of a store: called after a commit that appended events; a throwing listener is isolated. */
export class AppendListeners {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener is a projection's wake-up call; its failure must not undo a commit.
      }
    }
  }
}
