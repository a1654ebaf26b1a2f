import type { Clock } from '../time/clock.js';
import type { ActorContext } from './actor-context.js';
import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { ExitReason } from './exit-reason.js';
import type { SpawnOptions } from './spawn-options.js';
import type { TimerState } from './timers.js';

/** Delivered (through the system lane, before user messages) when a watched actor stops. */
export interface Terminated {
  readonly type: 'Terminated';
  readonly ref: ActorAddress;
  readonly reason: ExitReason;
}

/** Returned by a behaviour instance for a message it did not accept (runtime-internal; not exported). */
export const UNHANDLED: unique symbol = Symbol('unhandled');

/**
 * What the runtime drives (runtime-internal; not exported): one started incarnation of a behaviour. `handle` returns
 * `undefined` when done, a promise when it continues asynchronously (the actor takes no other
 * message until it settles), or `UNHANDLED`. A throw or rejection is a failure of the actor.
 */
export interface BehaviorInstance<M extends Message> {
  handle(message: M): undefined | typeof UNHANDLED | Promise<unknown>;
  terminated(signal: Terminated): undefined | typeof UNHANDLED | Promise<unknown>;
  /**
   * Runs once when this incarnation ends: before a restart (`restarting`), or when the actor
   * stops for good. Errors are logged by the runtime.
   */
  stop(reason: ExitReason, restarting: boolean): void;
  /** Present on supervisors: decides what happens to a child that exited (failed or stopped itself). */
  supervise?(child: SupervisedChild, reason: ExitReason): void;
  /** Called once the incarnation is installed (a supervisor starts its children here). */
  afterStart?(): void;
  /**
   * Present when the start continues asynchronously (e.g. a persistent actor recovering its
   * state). Until it resolves the actor takes no message: mail waits in the (bounded) mailbox.
   * A rejection is a failed start (`ActorFailed`, phase `start`), answered by the supervisor.
   */
  readonly ready?: Promise<unknown> | undefined;
  /** A serializable view of the state, shown as `details` in `system.tree()`. */
  describe?(): unknown;
}

/**
 * Where an incarnation's behaviour comes from: the behaviour itself, or a factory called at
 * each start (a child spec's `start`), inside the runtime's guard, so a throwing factory is a
 * failed start (runtime-internal; not exported).
 */
export type BehaviorSource<M extends Message> = Behavior<M> | (() => Behavior<M>);

/** A child as its supervisor sees it (runtime-internal; not exported). */
export interface SupervisedChild {
  readonly name: string;
  readonly status: 'running' | 'suspended' | 'stopping' | 'stopped';
  readonly self: ActorRef<Message>;
  /** Why its last incarnation ended (`shutdown` while none has). */
  readonly exitReason: ExitReason;
  /** Ends the current incarnation (hooks, timers, children) but keeps ref and mailbox. */
  suspend(reason: ExitReason): void;
  /**
   * Restarts in place (same ref and mailbox), optionally from a new source. Afterwards
   * `status` is `running`, or `suspended` when the start failed (its exit is then on its way
   * to the supervisor, as a failure).
   */
  restart(reason: ExitReason, source?: BehaviorSource<Message>): void;
  /** Stops now; what is queued becomes dead letters. */
  terminate(reason: ExitReason): void;
  /** Drains then stops, hard after `timeoutMs` (default: its own shutdownMs). */
  stopGracefully(reason: ExitReason, timeoutMs?: number): Promise<void>;
}

/**
 * What an incarnation may ask of the runtime beyond its `ActorContext` (runtime-internal).
 */
export interface Lifecycle {
  readonly clock: Clock;
  /**
   * Starts a child the caller supervises, from a factory called inside the runtime's guard: a
   * throwing factory is a failed start of the child, reported to the caller as its exit.
   * Throws `TypeError`/`RangeError` on bad options, before anything starts.
   */
  spawnSupervised(source: () => Behavior<Message>, options: SpawnOptions): SupervisedChild;
  /** The behaviour failed outside a handler (e.g. a machine's invoked promise rejected). */
  failAsync(error: unknown): void;
  /** A supervisor gives up: publishes `SupervisorEscalated`, then fails with `error`. */
  escalate(error: unknown): void;
  /** The actor's keyed `ctx.timers`, for a behaviour that persists them (a persistent machine). */
  readonly timerState: TimerState;
}

/**
 * How an actor behaves: a recipe the runtime starts once per incarnation (at spawn, and again
 * from scratch at each restart). Make one with {@link receive} or `fromMachine`.
 */
export interface Behavior<M extends Message> {
  /**
   * Starts an incarnation; called by the runtime at spawn and at each restart (not by users).
   * A throw here is a failure of the actor at start. (A method, so that a `Behavior<Narrow>`
   * can stand where a `Behavior<Message>` is expected, e.g. in child specs.)
   *
   * @internal The runtime's side of a behaviour: to users a behaviour is opaque.
   */
  start(ctx: ActorContext<M>, lifecycle: Lifecycle): BehaviorInstance<M>;
}

/** @internal Whether `value` has a behaviour's shape (an object with a `start` function). */
export function isBehavior(value: unknown): value is Behavior<Message> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { start?: unknown }).start === 'function' &&
    !isRawMachine(value)
  );
}

/** @internal An XState machine (actor logic) passed where a behaviour belongs: it has `start` too. */
export function isRawMachine(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { transition?: unknown }).transition === 'function' &&
    typeof (value as { getInitialSnapshot?: unknown }).getInitialSnapshot === 'function'
  );
}

/** Options of {@link receive}. */
export interface ReceiveOptions<S, M extends Message> {
  /**
   * Builds the initial state at each start (instead of the `initial` value), e.g. for mutable
   * state, or to spawn children and start timers.
   *
   * It may be async (load state from a database): until its promise resolves the actor takes
   * no message, and what arrives waits in the mailbox (bounded, as always: senders see `full`
   * or wait, per the mailbox's overflow policy). A rejection is a failed start, which the
   * supervisor answers like any other failure.
   */
  readonly onStart?: (ctx: ActorContext<M>) => S | Promise<S>;
  /** Handles `Terminated` for actors this one watches. Without it, `Terminated` is a dead letter (`unhandled`). */
  readonly onTerminated?: (state: S, signal: Terminated, ctx: ActorContext<M>) => S | Promise<S>;
  /** Runs once when the actor stops for good (post-stop). Errors are logged, not rethrown. */
  readonly onStop?: (state: S, reason: ExitReason, ctx: ActorContext<M>) => void;
  /**
   * Runs on the old state just before a supervisor restarts the actor (pre-restart); the new
   * incarnation then starts from `initial` / `onStart`. Errors are logged, not rethrown.
   */
  readonly onRestart?: (state: S, reason: ExitReason, ctx: ActorContext<M>) => void;
  /**
   * A serializable view of the state for `system.tree()` (its `details`), e.g. a topic's
   * subscriptions and counters. Called only when the tree is inspected.
   */
  readonly describe?: (state: S) => unknown;
}

/**
 * The light behaviour form: a state and a function `(state, message, ctx) => nextState`.
 *
 * The handler runs for one message at a time, in order. It may be async: the actor takes its
 * next message only after the returned promise settles. A throw or rejection is a failure of
 * the actor (the message becomes a dead letter with reason `failed`). On restart the state
 * starts again from `initial` (or `onStart`): treat `initial` as immutable.
 *
 * @example
 * type CounterMsg = { type: 'inc' } | { type: 'get'; replyTo: ActorRef<{ type: 'count'; n: number }> };
 * const counter = receive<number, CounterMsg>(0, (n, msg) => {
 *   if (msg.type === 'inc') return n + 1;
 *   msg.replyTo.tell({ type: 'count', n });
 *   return n;
 * });
 */
export function receive<S, M extends Message>(
  initial: S,
  handler: (state: S, message: M, ctx: ActorContext<M>) => S | Promise<S>,
  options: ReceiveOptions<S, M> = {},
): Behavior<M> {
  if (typeof handler !== 'function')
    throw new TypeError(`receive: handler must be a function; got ${typeof handler}`);
  return {
    start: (ctx) => {
      const first = options.onStart === undefined ? initial : options.onStart(ctx);
      if (!(first instanceof Promise)) return new ReceiveInstance(first, handler, options, ctx);
      const instance = new ReceiveInstance(initial, handler, options, ctx, first);
      return instance;
    },
  };
}

class ReceiveInstance<S, M extends Message> implements BehaviorInstance<M> {
  readonly ready: Promise<unknown> | undefined;
  /** False while an async `onStart` has not resolved: no hook sees the placeholder state. */
  private started: boolean;

  constructor(
    private state: S,
    private readonly handler: (state: S, message: M, ctx: ActorContext<M>) => S | Promise<S>,
    private readonly options: ReceiveOptions<S, M>,
    private readonly ctx: ActorContext<M>,
    pending?: Promise<S>,
  ) {
    this.started = pending === undefined;
    this.ready = pending?.then((state) => {
      this.state = state;
      this.started = true;
    });
  }

  handle(message: M): undefined | Promise<unknown> {
    const next = this.handler(this.state, message, this.ctx);
    if (next instanceof Promise) return next.then((state: S) => this.set(state));
    this.state = next;
    return undefined;
  }

  terminated(signal: Terminated): undefined | typeof UNHANDLED | Promise<unknown> {
    const onTerminated = this.options.onTerminated;
    if (onTerminated === undefined) return UNHANDLED;
    const next = onTerminated(this.state, signal, this.ctx);
    if (next instanceof Promise) return next.then((state: S) => this.set(state));
    this.state = next;
    return undefined;
  }

  stop(reason: ExitReason, restarting: boolean): void {
    if (!this.started) return; // never got its state: nothing for the hooks to see
    if (restarting) this.options.onRestart?.(this.state, reason, this.ctx);
    else this.options.onStop?.(this.state, reason, this.ctx);
  }

  describe(): unknown {
    return this.started ? this.options.describe?.(this.state) : { starting: true };
  }

  private set(state: S): void {
    this.state = state;
  }
}
