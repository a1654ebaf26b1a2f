/**
 * Result unions of the channel operations (the role of tokio's `error.rs`).
 *
 * Expected outcomes — full, empty, closed, lagged, aborted, dropped by policy — are values,
 * never exceptions. Every variant that did not take the value hands it back in `value`, so the
 * caller always knows where a value went. Switch on `reason` and end with
 * `default: r satisfies never` to have the compiler check that every outcome is handled.
 *
 * @module
 */

/** The value was accepted. For a channel, this means "enqueued", not "received" or "processed". */
export interface Ok {
  readonly ok: true;
}

/**
 * The channel is at capacity under the `block` policy and the caller chose not to wait.
 * The value was not enqueued and is handed back; it is not counted as dropped.
 */
export interface Full<T> {
  readonly ok: false;
  readonly reason: 'full';
  readonly value: T;
}

/** The channel is closed: the value was not enqueued and is handed back. */
export interface Closed<T> {
  readonly ok: false;
  readonly reason: 'closed';
  readonly value: T;
}

/**
 * The channel's `dropNewest` policy refused the value because the channel was full.
 * The value was counted as dropped and passed to `onDrop`; it is handed back for information.
 */
export interface Dropped<T> {
  readonly ok: false;
  readonly reason: 'dropped';
  readonly value: T;
}

/** The caller's `AbortSignal` fired before the value was enqueued: the value is handed back. */
export interface Aborted<T> {
  readonly ok: false;
  readonly reason: 'aborted';
  readonly value: T;
}

/** Result of `trySend`: never waits. */
export type TrySendResult<T> = Ok | Full<T> | Closed<T> | Dropped<T>;

/** Result of `send`: may wait for room under the `block` policy. */
export type SendResult<T> = Ok | Closed<T> | Dropped<T> | Aborted<T>;

/** A value was received. */
export interface Received<T> {
  readonly ok: true;
  readonly value: T;
}

/** Nothing is buffered right now, but the channel is still open (only from `tryRecv`). */
export interface Empty {
  readonly ok: false;
  readonly reason: 'empty';
}

/** The channel is closed and everything buffered has been received: no value will ever come. */
export interface RecvClosed {
  readonly ok: false;
  readonly reason: 'closed';
}

/** The caller's `AbortSignal` fired while `recv` was waiting. Nothing was consumed. */
export interface RecvAborted {
  readonly ok: false;
  readonly reason: 'aborted';
}

/**
 * (broadcast only) The receiver fell more than `capacity` values behind: `skipped` values were
 * overwritten before it read them. The receiver stays subscribed; its next receive returns the
 * oldest value the channel still holds (tokio's `RecvError::Lagged(n)`).
 */
export interface Lagged {
  readonly ok: false;
  readonly reason: 'lagged';
  readonly skipped: number;
}

/** Result of mpsc `recv`. */
export type RecvResult<T> = Received<T> | RecvClosed | RecvAborted;

/** Result of mpsc `tryRecv`: never waits. */
export type TryRecvResult<T> = Received<T> | Empty | RecvClosed;

/** Result of broadcast `recv`. */
export type BroadcastRecvResult<T> = Received<T> | Lagged | RecvClosed | RecvAborted;

/** Result of broadcast `tryRecv`: never waits. */
export type BroadcastTryRecvResult<T> = Received<T> | Lagged | Empty | RecvClosed;

/** Options of every operation that may wait. */
export interface WaitOptions {
  /**
   * Aborting the signal ends the wait with `{ ok: false, reason: 'aborted' }`. An already
   * aborted signal ends it at once, before anything is taken or enqueued. A value that is not
   * an `AbortSignal` is misuse: the operation rejects with `TypeError`, changing nothing.
   */
  readonly signal?: AbortSignal | undefined;
}

/** @internal Shared immutable results: the hot paths allocate no result object for these. */
export const OK: Ok = Object.freeze({ ok: true });
/** @internal */
export const EMPTY: Empty = Object.freeze({ ok: false, reason: 'empty' });
/** @internal */
export const RECV_CLOSED: RecvClosed = Object.freeze({ ok: false, reason: 'closed' });
/** @internal */
export const RECV_ABORTED: RecvAborted = Object.freeze({ ok: false, reason: 'aborted' });
