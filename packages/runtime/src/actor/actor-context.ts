import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { Behavior } from './behavior.js';
import type { ExitReason } from './exit-reason.js';
import type { SpawnOptions } from './spawn-options.js';
import type { SystemView } from './system-view.js';
import type { Timers } from './timers.js';

/**
 * What a behaviour can do while it handles a message: its own ref, its family, and effects.
 * Handed to `receive` handlers and to the factory of `fromMachine`, so machine actions reach it
 * (`machine.provide({ actions: { reply: ({ event }) => ctx.reply(event.replyTo, …) } })`).
 */
export interface ActorContext<M extends Message> {
  readonly self: ActorRef<M>;
  /** The parent (the `/user` guardian for top-level actors). */
  readonly parent: ActorRef<Message>;
  /** This actor's logger: a pino child bound to `{ actor: path }`, created on first use. */
  readonly log: Logger;
  /** The actor system (for `lookup`, `events`, `inspect`, `tree`). */
  readonly system: SystemView;
  /** Keyed timers that deliver messages to this actor; cancelled when it stops or restarts. */
  readonly timers: Timers<M>;
  /** The system's clock (`clock.now()` for timestamps; a `VirtualClock` in tests). */
  readonly clock: Clock;

  /**
   * After the current message, take no message for `ms` (on the system clock); messages keep
   * queuing meanwhile, subject to the mailbox's capacity and policy. For rate limiting, or to
   * model a slow consumer. `ms` must be a finite number ≥ 0 (else `RangeError`); a restart or
   * stop ends the pause.
   */
  pause(ms: number): void;

  /**
   * Declares the message being handled as not accepted (e.g. a malformed request): once the
   * handler returns, it becomes a dead letter with reason `unhandled` and is counted as
   * unhandled rather than processed — what an XState machine's missing transition does
   * automatically.
   */
  unhandled(): void;

  /** Starts a child actor. Children stop before their parent. Names are unique among siblings. */
  spawn<C extends Message>(behavior: Behavior<C>, options?: SpawnOptions): ActorRef<C>;

  /**
   * Stops this actor (no argument: `ctx.exit({ type: 'normal' })`, after the current message)
   * or one of its children (reason `shutdown`): a child stops gracefully — it refuses new
   * messages, handles what is queued within its `shutdownMs`, then stops hard (what is still
   * queued becomes dead letters, `stopped`). Throws `TypeError` for a ref that is neither
   * itself nor a child.
   */
  stop(ref?: ActorAddress): void;

  /**
   * Ends this incarnation with `reason`, after the current message (OTP's `exit/1`): a
   * supervisor answers by the child's restart type, so `{ type: 'normal' }` lets a `transient`
   * child stop for good and `{ type: 'error', error }` is an abnormal exit it restarts (no
   * message is dead-lettered as `failed`). Without a supervisor the actor stops. Messages still
   * queued stay for a restarted incarnation, or become dead letters (`stopped`) when it stops.
   * Throws `TypeError` for anything that is not an `ExitReason`.
   */
  exit(reason: ExitReason): void;

  /**
   * Death watch: when `ref` stops, this actor receives `Terminated { ref, reason }` in its
   * system lane (ahead of user messages) — at once if `ref` is already stopped. `ref` may be
   * an actor on another node of a cluster (a foreign ref): then `Terminated` also comes when it
   * is found dead or unknown, and with reason `nodeDown` when its node leaves or is declared
   * down. Throws `TypeError` for anything that is neither.
   */
  watch(ref: ActorAddress): void;
  /** Stops watching `ref`; a `Terminated` not yet handled is discarded. */
  unwatch(ref: ActorAddress): void;

  /**
   * Sends with backpressure from inside a handler: queues at once if there is room, otherwise
   * waits for room — and this actor takes its next message only after every such pending send
   * is queued. A chain of actors that forward with `ctx.send` therefore slows its producer
   * instead of dropping. A target that is stopped makes the message a dead letter (`stopped`).
   * Sending to itself, or from an `onStop`/`onRestart` hook, is a plain `tell`.
   *
   * **Deadlock.** Two actors that `ctx.send` to each other (a cycle) through full mailboxes
   * wait for each other forever. Break cycles with `tell` (dead letter when full) or a
   * dropping mailbox policy on one edge.
   */
  send<T extends Message>(ref: ActorRef<T>, message: T): void;

  /** Replies to a `replyTo` ref carried by a message (a `tell`: never waits, never throws). */
  reply<R extends Message>(replyTo: ActorRef<R>, message: R): void;
}
