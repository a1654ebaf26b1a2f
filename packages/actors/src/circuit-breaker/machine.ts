/**
 * The circuit breaker's states as an XState machine: pure transitions, named effects.
 *
 * The effects (`startCall`, `reply`, `reject`, `notify`) are no-ops here and supplied by
 * `circuitBreaker` with `.provide()`, so the machine can be tested with `initialTransition` /
 * `transition` by reading the actions it asks for.
 *
 * **Epochs.** Every entry into `closed`, `open` or `halfOpen` takes a fresh epoch, unique in the
 * process; a call is stamped with the epoch it started in. An outcome from another epoch (a call
 * that started before the last transition, or in an earlier incarnation of the actor) is replied
 * to its caller but does not move the breaker.
 *
 * **Malformed events** (from untyped code: a `call` without a ref to reply to, an outcome without
 * a result) enable no transition, so the runtime makes them `unhandled` dead letters; a guard
 * never reads a field that may be missing, so garbage cannot fail the machine (which would
 * restart it closed, forgetting an open circuit).
 *
 * Not exported from the package: `circuitBreaker` is the public face.
 */
import type { ActorRef } from '@troupe/runtime';
import { and, assign, setup } from 'xstate';
import { isRef } from '../failed-message.js';
import type { CallResult, CallSettled, CircuitBreakerMsg, CircuitState } from './circuit-breaker.js';

/** The machine's view of the messages: requests and results are opaque to it. */
export type BreakerEvent = CircuitBreakerMsg<unknown, unknown>;

export interface BreakerInput {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly halfOpenMaxCalls: number;
}

export interface BreakerContext extends BreakerInput {
  /** Consecutive failures while closed. */
  readonly failures: number;
  /** Trial calls started in this half-open epoch. */
  readonly trials: number;
  readonly epoch: number;
}

/** The tag of the self message that carries an operation's outcome back into the machine. */
export const SETTLED = '$circuitBreaker.settled';

let epochs = 0;
const nextEpoch = () => ++epochs;

type Settled = CallSettled<unknown>;

/** An outcome with what replying needs: a ref, and a result that says `ok` or not. */
const isSettled = (event: BreakerEvent): event is Settled => {
  if (event.type !== SETTLED) return false;
  const result = (event as Partial<Settled>).result as Partial<CallResult<unknown>> | null | undefined;
  return (
    isRef(event.replyTo) && typeof result === 'object' && result !== null && typeof result.ok === 'boolean'
  );
};
const current = (context: BreakerContext, event: BreakerEvent): event is Settled =>
  isSettled(event) && event.epoch === context.epoch;

const replyParams = ({ event }: { event: BreakerEvent }) => {
  const settled = event as Settled;
  return { replyTo: settled.replyTo, result: settled.result };
};
const notify = (from: CircuitState, to: CircuitState) => ({ type: 'notify', params: { from, to } }) as const;

export const circuitBreakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  actions: {
    /** Starts the operation outside the machine; its outcome comes back as a `SETTLED` event. */
    startCall: (
      _,
      _params: { request: unknown; replyTo: ActorRef<CallResult<unknown>>; epoch: number },
    ) => {},
    /** Tells the caller the outcome of its call. */
    reply: (_, _params: { replyTo: ActorRef<CallResult<unknown>>; result: CallResult<unknown> }) => {},
    /** Fails a call fast: the circuit does not admit it. */
    reject: (_, _params: { replyTo: ActorRef<CallResult<unknown>>; state: 'open' | 'halfOpen' }) => {},
    /** Publishes a state change. */
    notify: (_, _params: { from: CircuitState; to: CircuitState }) => {},
    newEpoch: assign({ epoch: () => nextEpoch() }),
  },
  guards: {
    /** A failure of this epoch that brings consecutive failures to the threshold. */
    trips: ({ context, event }) =>
      current(context, event) && !event.result.ok && context.failures + 1 >= context.failureThreshold,
    currentFailure: ({ context, event }) => current(context, event) && !event.result.ok,
    currentSuccess: ({ context, event }) => current(context, event) && event.result.ok,
    trialSlotFree: ({ context }) => context.trials < context.halfOpenMaxCalls,
    /** A call that can be answered: it carries a ref to reply to. */
    validCall: ({ event }) => event.type === 'call' && isRef(event.replyTo),
    /** An outcome that can be replied (of any epoch). */
    validOutcome: ({ event }) => isSettled(event),
  },
  delays: {
    resetTimeout: ({ context }) => context.resetTimeoutMs,
  },
}).createMachine({
  id: 'circuitBreaker',
  context: ({ input }) => ({ ...input, failures: 0, trials: 0, epoch: 0 }),
  initial: 'closed',
  states: {
    closed: {
      entry: ['newEpoch', assign({ failures: 0 })],
      on: {
        call: {
          guard: 'validCall',
          actions: {
            type: 'startCall',
            params: ({ context, event }) => ({
              request: event.request,
              replyTo: event.replyTo,
              epoch: context.epoch,
            }),
          },
        },
        [SETTLED]: [
          {
            guard: 'trips',
            target: 'open',
            actions: [{ type: 'reply', params: replyParams }, notify('closed', 'open')],
          },
          {
            guard: 'currentFailure',
            actions: [
              { type: 'reply', params: replyParams },
              assign({ failures: ({ context }) => context.failures + 1 }),
            ],
          },
          {
            guard: 'currentSuccess',
            actions: [{ type: 'reply', params: replyParams }, assign({ failures: 0 })],
          },
          { guard: 'validOutcome', actions: { type: 'reply', params: replyParams } },
        ],
      },
    },
    open: {
      entry: 'newEpoch',
      after: { resetTimeout: { target: 'halfOpen', actions: notify('open', 'halfOpen') } },
      on: {
        call: {
          guard: 'validCall',
          actions: { type: 'reject', params: ({ event }) => ({ replyTo: event.replyTo, state: 'open' }) },
        },
        [SETTLED]: { guard: 'validOutcome', actions: { type: 'reply', params: replyParams } },
      },
    },
    halfOpen: {
      entry: ['newEpoch', assign({ trials: 0 })],
      on: {
        call: [
          {
            guard: and(['validCall', 'trialSlotFree']),
            actions: [
              assign({ trials: ({ context }) => context.trials + 1 }),
              {
                type: 'startCall',
                params: ({ context, event }) => ({
                  request: event.request,
                  replyTo: event.replyTo,
                  epoch: context.epoch,
                }),
              },
            ],
          },
          {
            guard: 'validCall',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ replyTo: event.replyTo, state: 'halfOpen' }),
            },
          },
        ],
        [SETTLED]: [
          {
            guard: 'currentSuccess',
            target: 'closed',
            actions: [{ type: 'reply', params: replyParams }, notify('halfOpen', 'closed')],
          },
          {
            guard: 'currentFailure',
            target: 'open',
            actions: [{ type: 'reply', params: replyParams }, notify('halfOpen', 'open')],
          },
          { guard: 'validOutcome', actions: { type: 'reply', params: replyParams } },
        ],
      },
    },
  },
});
