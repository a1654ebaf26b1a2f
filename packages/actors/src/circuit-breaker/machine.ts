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
 * Not exported from the package: `circuitBreaker` is the public face.
 */
import type { ActorRef } from '@troupe/runtime';
import { assign, setup } from 'xstate';
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

const isSettled = (event: BreakerEvent): event is Settled => event.type === SETTLED;
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
          { actions: { type: 'reply', params: replyParams } },
        ],
      },
    },
    open: {
      entry: 'newEpoch',
      after: { resetTimeout: { target: 'halfOpen', actions: notify('open', 'halfOpen') } },
      on: {
        call: {
          actions: { type: 'reject', params: ({ event }) => ({ replyTo: event.replyTo, state: 'open' }) },
        },
        [SETTLED]: { actions: { type: 'reply', params: replyParams } },
      },
    },
    halfOpen: {
      entry: ['newEpoch', assign({ trials: 0 })],
      on: {
        call: [
          {
            guard: 'trialSlotFree',
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
          { actions: { type: 'reply', params: replyParams } },
        ],
      },
    },
  },
});
