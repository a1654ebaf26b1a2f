/**
 * Typed errors for the outcomes of actor operations that return promises. Hot paths that do not
 * wait (`tell`, `trySend`) never throw these: they return results or publish dead letters.
 */

/** `ref.send` or `ask` to an actor that is stopped (or stops while the caller waits for room). */
export class ActorStoppedError extends Error {
  override readonly name = 'ActorStoppedError';
  readonly code = 'ACTOR_STOPPED';
  constructor(readonly path: string) {
    super(`actor ${path} is stopped`);
  }
}

/** An `ask` whose reply did not arrive within its timeout. A later reply becomes a dead letter. */
export class AskTimeoutError extends Error {
  override readonly name = 'AskTimeoutError';
  readonly code = 'ASK_TIMEOUT';
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`ask to ${path} timed out after ${timeoutMs} ms`);
  }
}

/** An `ask` whose request was refused by the target's `dropNewest` mailbox policy. */
export class MessageDroppedError extends Error {
  override readonly name = 'MessageDroppedError';
  readonly code = 'MESSAGE_DROPPED';
  constructor(readonly path: string) {
    super(`request to ${path} was dropped by its mailbox policy`);
  }
}
