/**
 * What a persistent actor's handler returns: what to persist, and what to do once it is
 * committed. Akka's `Effect`, as plain data.
 *
 * - `Effect.persist(x, then?)`: store `x` (an event or a list of events for an event-sourced
 *   actor, the new state for a durable-state one). The actor takes its next message only once
 *   it is committed; then the state changes, then `then(state)` runs — the place for replies
 *   and side effects, which therefore never run for a write that failed.
 * - `Effect.none(then?)`: nothing to store; `then(state)` runs now.
 * - `Effect.unhandled()`: the message is not accepted in this state (a dead letter, `unhandled`).
 * - `Effect.delete(then?)` (durable state only, see {@link DurableEffect}): delete the stored
 *   state; once that is committed the state is `emptyState` again and `then(emptyState)` runs.
 */
export type Effect<P, S> =
  | { readonly kind: 'persist'; readonly value: P; readonly then: ((state: S) => void) | undefined }
  | { readonly kind: 'none'; readonly then: ((state: S) => void) | undefined }
  | { readonly kind: 'unhandled' };

/** `Effect.delete()`: deletes a durable state (see `durableState`). */
export interface DeleteEffect<S> {
  readonly kind: 'delete';
  readonly then: ((state: S) => void) | undefined;
}

/**
 * What a durable-state handler returns: an {@link Effect}, or `Effect.delete()`. (An
 * event-sourced command handler cannot return a delete: its history is not deleted that way.)
 */
export type DurableEffect<S> = Effect<S, S> | DeleteEffect<S>;

export const Effect = {
  persist<P, S>(value: P, then?: (state: S) => void): Effect<P, S> {
    return { kind: 'persist', value, then };
  },
  none<S>(then?: (state: S) => void): Effect<never, S> {
    return { kind: 'none', then };
  },
  unhandled<S>(): Effect<never, S> {
    return { kind: 'unhandled' };
  },
  /**
   * Deletes a durable-state actor's stored state (Akka's `Effect.delete`). Written like any
   * change (revision-checked, group-committed, before `then`); afterwards the actor's state is
   * its `emptyState`, and every later start — a restart, a new process — finds no state and
   * starts from `emptyState` too. The revision is not reset: the delete takes the next revision
   * and later writes continue from it, so an incarnation that still holds an older revision
   * cannot write over the delete (`ConcurrencyError`).
   */
  delete<S>(then?: (state: S) => void): DeleteEffect<S> {
    return { kind: 'delete', then };
  },
};
