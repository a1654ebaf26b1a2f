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
 */
export type Effect<P, S> =
  | { readonly kind: 'persist'; readonly value: P; readonly then: ((state: S) => void) | undefined }
  | { readonly kind: 'none'; readonly then: ((state: S) => void) | undefined }
  | { readonly kind: 'unhandled' };

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
};
