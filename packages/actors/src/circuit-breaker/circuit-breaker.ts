import {
  type ActorContext,
  type ActorRef,
  type AskOptions,
  type Behavior,
  fromMachine,
} from '@troupe/runtime';
import { checkDuration, checkFunction, checkInteger, checkOptions, checkRef } from '../check-options.js';
import { tellGuarded } from '../failed-message.js';
import { type BreakerEvent, type BreakerInput, circuitBreakerMachine, SETTLED } from './machine.js';

/** Where a breaker is: `closed` lets calls through, `open` fails them fast, `halfOpen` lets a few trials through. */
export type CircuitState = 'closed' | 'open' | 'halfOpen';

/** The reply to a `call`: the operation's value, or why there is none. */
export type CallResult<Res> =
  | { readonly type: 'callResult'; readonly ok: true; readonly value: Res }
  /** `error` is the operation's rejection, a `CircuitOpenError`, or a `CallTimeoutError`. */
  | { readonly type: 'callResult'; readonly ok: false; readonly error: unknown };

/** Asks the breaker to run the operation on `request`; the outcome is told to `replyTo`. */
export interface Call<Req, Res> {
  readonly type: 'call';
  readonly request: Req;
  readonly replyTo: ActorRef<CallResult<Res>>;
}

/**
 * The self message that brings an operation's outcome back to the breaker. Only the breaker
 * sends it (to itself); other senders would answer callers with forged outcomes.
 */
export interface CallSettled<Res> {
  readonly type: '$circuitBreaker.settled';
  readonly epoch: number;
  readonly replyTo: ActorRef<CallResult<Res>>;
  readonly result: CallResult<Res>;
}

/** What a circuit breaker accepts: `call` requests (and its own `$circuitBreaker.` self messages). */
export type CircuitBreakerMsg<Req, Res> = Call<Req, Res> | CallSettled<Res>;

/** Told to the `events` ref on every state change of a breaker. */
export interface CircuitStateChanged {
  readonly type: 'CircuitStateChanged';
  /** Path of the breaker. */
  readonly breaker: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions<Req, Res> {
  /** The guarded operation. A rejection (or a synchronous throw) is a failure. */
  readonly call: (request: Req) => Promise<Res>;
  /** Consecutive failures, while closed, that open the circuit. Integer ≥ 1. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before it lets trial calls through, in ms; > 0. */
  readonly resetTimeoutMs: number;
  /** Trial calls in flight at once while half-open; integer ≥ 1, default 1. */
  readonly halfOpenMaxCalls?: number;
  /**
   * Fails a call that has not settled within this many ms (on the system clock) with a
   * `CallTimeoutError`, which counts as a failure; its late outcome is ignored. Default: no
   * limit — but then an operation that never settles holds its half-open trial slot forever.
   */
  readonly callTimeoutMs?: number;
  /** Told `CircuitStateChanged` on every transition (e.g. a topic). */
  readonly events?: ActorRef<CircuitStateChanged>;
}

/** The reply error to a call the circuit did not admit: it is open, or half-open with every trial slot taken. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  readonly code = 'CIRCUIT_OPEN';
  constructor(
    /** Path of the breaker. */
    readonly path: string,
    readonly state: 'open' | 'halfOpen',
  ) {
    super(`circuit ${path} is ${state === 'open' ? 'open' : 'half-open with every trial slot taken'}`);
  }
}

/** The reply error to a call whose operation did not settle within `callTimeoutMs`. */
export class CallTimeoutError extends Error {
  override readonly name = 'CallTimeoutError';
  readonly code = 'CALL_TIMEOUT';
  constructor(
    /** Path of the breaker. */
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`call through circuit ${path} did not settle within ${timeoutMs} ms`);
  }
}

/**
 * A circuit breaker actor around an async operation (the seeds' `CircuitBreaker`, as an XState
 * machine): callers `ask` it with `{ type: 'call', request, replyTo }` (or use
 * {@link CircuitBreaker.call}) and get a {@link CallResult}.
 *
 * **Closed** (initial). Every call runs the operation. A failure counts; a success resets the
 * count; `failureThreshold` consecutive failures open the circuit.
 * **Open.** Every call is answered at once with `ok: false` and a {@link CircuitOpenError}; the
 * operation is not run. After `resetTimeoutMs` (a delayed transition on the system clock, so a
 * `VirtualClock` drives it) the circuit is half-open.
 * **Half-open.** Up to `halfOpenMaxCalls` trial calls run at once; more are rejected fast with
 * `CircuitOpenError` (`state: 'halfOpen'`). A trial success closes the circuit, a trial failure
 * opens it again for another `resetTimeoutMs`.
 *
 * **Concurrency.** The operation runs outside the breaker's message handling: the breaker keeps
 * serving calls while operations are in flight, and each outcome comes back as a self message
 * (waiting for room in its mailbox, never dropped). Outcomes are replied in the order they
 * settle. An outcome of a call started before the last transition is replied to its caller but
 * does not move the breaker (e.g. late failures from the closed state do not re-open a circuit
 * that is already open or half-open).
 * **Events.** Every transition is logged and told to `events` as `CircuitStateChanged`
 * (a `tell`: a full or stopped `events` mailbox makes it a dead letter; the breaker never waits).
 * **Callbacks and refs that throw.** The state of the circuit never depends on a user callback
 * other than `call`, whose throw or rejection is that call's failure (above). An `events` ref
 * whose `tell` throws makes that `CircuitStateChanged` a `failed` dead letter carrying the error,
 * addressed to `events`; a caller's `replyTo` whose `tell` throws does the same with the
 * `CallResult`. Either way the transition stands: an open circuit stays open. A `call` without
 * a ref to reply to (untyped code) is an `unhandled` dead letter, as is a forged outcome
 * without a result.
 * **Stopping and restarts.** A restart begins closed with no failures. Outcomes of calls started
 * before it are still replied. If the breaker is stopped, an outcome is told straight to its
 * caller. A caller that gets no reply (e.g. the breaker was stopped before taking its call) sees
 * its `ask` time out.
 * **Errors.** Throws on bad options before anything starts, naming each bad field (one: its
 * `TypeError`/`RangeError`; several: an `InvalidOptionsError` listing them).
 * **Gotchas.** Keep the default `block` mailbox: a dropping policy could drop outcomes, which
 * would leave a half-open trial slot taken.
 *
 * @example
 * const breaker = system.spawn(circuitBreaker({ call: fetchQuote, failureThreshold: 3, resetTimeoutMs: 30_000 }));
 * const quote = await CircuitBreaker.call(breaker, 'EUR/USD', { timeoutMs: 1000 });
 */
export function circuitBreaker<Req, Res>(
  options: CircuitBreakerOptions<Req, Res>,
): Behavior<CircuitBreakerMsg<Req, Res>> {
  const owner = 'circuitBreaker';
  const checks = checkOptions(owner, options);
  const call = checks.run(() => checkFunction(owner, 'call', options.call), options.call) as (
    request: unknown,
  ) => Promise<unknown>;
  const input: BreakerInput = {
    failureThreshold: checks.run(
      () => checkInteger(owner, 'failureThreshold', options.failureThreshold, 1),
      1,
    ),
    resetTimeoutMs: checks.run(() => checkDuration(owner, 'resetTimeoutMs', options.resetTimeoutMs), 1),
    halfOpenMaxCalls: checks.run(
      () => checkInteger(owner, 'halfOpenMaxCalls', options.halfOpenMaxCalls ?? 1, 1),
      1,
    ),
  };
  const timeoutMs = checks.run(
    () =>
      options.callTimeoutMs === undefined
        ? undefined
        : checkDuration(owner, 'callTimeoutMs', options.callTimeoutMs),
    undefined,
  );
  const events = checks.run(
    () => (options.events === undefined ? undefined : checkRef(owner, 'events', options.events)),
    undefined,
  );
  checks.done();

  const behavior = fromMachine(
    (ctx) =>
      circuitBreakerMachine.provide({
        actions: {
          startCall: (_, { request, replyTo, epoch }) =>
            startOperation(
              ctx,
              () => call(request),
              timeoutMs,
              (result) => ({
                type: SETTLED,
                epoch,
                replyTo,
                result,
              }),
            ),
          // Refs from users (callers' replyTo, `events`) are told through a guard: a throwing
          // ref inside a machine action would fail the machine and restart the circuit closed.
          reply: (_, { replyTo, result }) => {
            tellGuarded(ctx, replyTo, result);
          },
          reject: (_, { replyTo, state }) => {
            tellGuarded(ctx, replyTo, {
              type: 'callResult',
              ok: false,
              error: new CircuitOpenError(ctx.self.path, state),
            });
          },
          notify: (_, { from, to }) => {
            ctx.log.debug({ from, to }, 'circuit state changed');
            if (events !== undefined) {
              tellGuarded(ctx, events, { type: 'CircuitStateChanged', breaker: ctx.self.path, from, to });
            }
          },
        },
      }),
    { input },
  );
  return behavior as unknown as Behavior<CircuitBreakerMsg<Req, Res>>;
}

/**
 * Runs the operation and feeds its first outcome (value, rejection or timeout) back to the
 * breaker; if the breaker is stopped by then, straight to the caller.
 */
function startOperation(
  ctx: ActorContext<BreakerEvent>,
  run: () => Promise<unknown>,
  timeoutMs: number | undefined,
  settled: (result: CallResult<unknown>) => CallSettled<unknown>,
): void {
  let done = false;
  let timer: unknown;
  const settle = (result: CallResult<unknown>) => {
    if (done) return;
    done = true;
    if (timer !== undefined) ctx.clock.clearTimeout(timer);
    const message = settled(result);
    ctx.self.send(message).catch(() => tellGuarded(ctx, message.replyTo, result));
  };
  if (timeoutMs !== undefined) {
    const error = new CallTimeoutError(ctx.self.path, timeoutMs);
    timer = ctx.clock.setTimeout(() => settle({ type: 'callResult', ok: false, error }), timeoutMs);
  }
  let pending: Promise<unknown>;
  try {
    pending = Promise.resolve(run());
  } catch (error) {
    pending = Promise.reject(error);
  }
  pending.then(
    (value) => settle({ type: 'callResult', ok: true, value }),
    (error: unknown) => settle({ type: 'callResult', ok: false, error }),
  );
}

/** Client helpers for a circuit breaker actor. */
export const CircuitBreaker = {
  /**
   * Calls through the breaker: resolves with the operation's value; rejects with
   * `CircuitOpenError` when the circuit does not admit the call, `CallTimeoutError` past
   * `callTimeoutMs`, the operation's own error, or — from the `ask` — `AskTimeoutError` past
   * `timeoutMs` (default: the system's ask timeout) and `ActorStoppedError`.
   */
  async call<Req, Res>(
    ref: ActorRef<CircuitBreakerMsg<Req, Res>>,
    request: Req,
    options?: AskOptions,
  ): Promise<Res> {
    const result = await ref.ask<CallResult<Res>>((replyTo) => ({ type: 'call', request, replyTo }), options);
    if (result.ok) return result.value;
    throw result.error;
  },
};
