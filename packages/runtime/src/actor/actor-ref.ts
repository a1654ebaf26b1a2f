import type { TrySendResult, WaitOptions } from '../channel/results.js';

/** Every actor message is an object with a string `type` (a discriminated union member). */
export interface Message {
  readonly type: string;
}

/** Options of `ask`. */
export interface AskOptions {
  /**
   * How long to wait for the reply, in ms (default: the system's `askTimeoutMs`, 5000).
   * Must be a finite number ≥ 0, else `RangeError`.
   */
  readonly timeoutMs?: number;
}

/**
 * A handle to an actor: the only way to reach it. Refs are cheap, stay valid for the actor's
 * whole life (also across restarts), and keep working after it stops: messages to a stopped
 * actor become dead letters (reason `stopped`).
 *
 * Delivery is at most once and in order per sender: two messages told by the same sender to
 * the same actor are processed in the order they were told.
 */
export interface ActorRef<M extends Message> extends ActorAddress {
  /**
   * Fire and forget. Never throws, never waits, allocates no promise. When the message cannot
   * be queued it becomes a dead letter on `system.events` and is counted: reason `mailboxFull`
   * (full under `block`: a tell cannot wait), `dropped` (the mailbox's dropping policy),
   * `stopped` (the actor is stopped), or `invalid` (not an object with a string `type`).
   */
  tell(message: M): void;

  /**
   * Queues without waiting and says what happened: `{ ok: true }` when queued, else the
   * message is handed back with `reason: 'full'` (under `block`; the caller still owns it, no
   * dead letter), `'dropped'` (the `dropNewest` policy refused it: counted, dead-lettered) or
   * `'closed'` (the actor is stopped). Allocates no promise. Throws `TypeError` on a message that
   * is not an object with a string `type` (misuse). (Generic so that a ref accepting more
   * message types can stand in where a ref of fewer is expected, e.g. as a topic subscriber.)
   */
  trySend<T extends M>(message: T): TrySendResult<T>;

  /**
   * Queues, waiting while the mailbox is full under `block` (backpressure; waiting senders are
   * served FIFO). Resolves once queued — not processed. Rejects with `ActorStoppedError` if the
   * actor is or becomes stopped while waiting, with the signal's reason if `signal` aborts, and
   * with `TypeError` on a malformed message or a `signal` that is not an `AbortSignal` (nothing
   * is queued then). Under a dropping policy it never waits.
   */
  send(message: M, options?: WaitOptions): Promise<void>;

  /**
   * Request-reply: `build` receives a one-shot `replyTo` ref and returns the message carrying
   * it; replies are messages too (Akka Typed style), so any actor can answer with `tell`. Resolves with the first reply. Rejects with `AskTimeoutError` if none arrives within
   * `timeoutMs`; a reply after that becomes a dead letter (`lateReply`). Rejects with
   * `ActorStoppedError` if the actor is stopped when asked.
   */
  ask<R extends Message>(build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R>;
}

/**
 * What identifies an actor, whatever its message type: every `ActorRef` is one. Used where
 * only identity matters (watch, stop, `Terminated`); compare with `===` against your typed refs.
 */
export interface ActorAddress {
  /** Unique in the process (nanoid by default). */
  readonly id: string;
  /** Where the actor sits in the tree, e.g. `/user/pipeline/decoder`. */
  readonly path: string;
  /** The last segment of `path`. */
  readonly name: string;
}
